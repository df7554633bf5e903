"""The accelerator template: a validated description (array, vector unit, memory hierarchy, DRAM) and what follows
from it alone (peak TOPS, area, leakage).

The memory hierarchy is data: ``memory`` lists the on-chip levels from the PEs outward; DRAM closes it. Each level
has a capacity per instance, a sharing (one instance per PE, per core or per chip), the operands it may hold
(GEMM operands ``inputs`` A, ``weights`` B, ``outputs`` C; the others bypass it), read and write bandwidth, and
whether tiles may be double-buffered. An operand's data reaches a level from its *parent*: the next level
outward that holds it (or the level named by ``parent``), and finally DRAM.

The old two-buffer form (``local_buffer:`` and ``global_buffer:`` sections) is read as that hierarchy's special
case: a per-core level ``local_buffer`` and a per-chip level ``global_buffer``.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ir.files import load_yaml

from .errors import HardwareError, TechDataError, describe_validation_error
from .tech import NODES_NM, Tech, tech_for

Dataflow = Literal["os", "ws", "is"]
DramKind = Literal["LPDDR4", "LPDDR5", "DDR4", "HBM2", "HBM2E", "HBM3", "HBM3E"]
Operand = Literal["inputs", "weights", "outputs"]
Sharing = Literal["per_pe", "per_core", "per_chip"]
Conventions = Literal["catx", "catransformers"]

OPERANDS: tuple[str, ...] = ("inputs", "weights", "outputs")      # GEMM operands A, B, C, in that order
SHARINGS: tuple[str, ...] = ("per_pe", "per_core", "per_chip")     # from the PEs outward
STATIONARY = {"os": "outputs", "ws": "weights", "is": "inputs"}    # what a dataflow keeps in its PEs

VECTOR_CYCLES_FILE = Path(__file__).parent / "data" / "tech" / "vector_cycles.yaml"


def _default_cycles() -> dict[str, float]:
    """Cycles per element on one vector lane by function (CATransformers' table plus the simple ones), from
    ``data/tech/vector_cycles.yaml``; functions not listed cost ``default`` cycles."""
    try:
        table = yaml.safe_load(VECTOR_CYCLES_FILE.read_text())["cycles_per_element"]
        return {fn: float(e["value"]) for fn, e in table.items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
        raise TechDataError(f"{VECTOR_CYCLES_FILE}: cannot read the vector cycle table ({e})") from None


DEFAULT_CYCLES_PER_ELEMENT = _default_cycles()


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Bits(_Part):
    weight: int = Field(8, ge=1, le=32)
    activation: int = Field(8, ge=1, le=32)
    accumulator: int = Field(32, ge=1, le=64)


class TensorUnit(_Part):
    pe_rows: int = Field(gt=0)
    pe_cols: int = Field(gt=0)
    dataflows: tuple[Dataflow, ...] = ("os", "ws", "is")
    register_accesses_per_mac: float = Field(3.0, ge=0)   # pipeline-register reads/writes per MAC
    # how a GEMM spreads over cores: "dims" splits batch, M or N evenly; "tiles" deals output tiles of these
    # sizes (rows x columns) to the cores in waves, as GPUs run thread blocks
    core_split: Literal["dims", "tiles"] = "dims"
    tile_sizes: tuple[int, ...] = (64, 128, 256)
    precisions: tuple[int, ...] | None = None             # operand bit widths it computes in (None: any)

    @field_validator("dataflows")
    @classmethod
    def _nonempty(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("at least one dataflow is needed (allowed: os, ws, is)")
        return tuple(dict.fromkeys(v))

    @field_validator("tile_sizes")
    @classmethod
    def _tiles(cls, v: tuple) -> tuple:
        if not v or any(t < 1 for t in v):
            raise ValueError(f"tile_sizes must list at least one size >= 1 (e.g. [64, 128, 256]), got {list(v)}")
        return tuple(dict.fromkeys(v))

    @field_validator("precisions")
    @classmethod
    def _precisions(cls, v: tuple | None) -> tuple | None:
        if v is not None and (not v or any(b < 1 for b in v)):
            raise ValueError(f"precisions must list at least one bit width >= 1 (or be omitted), got {list(v)}")
        return v


class VectorUnit(_Part):
    lanes: int = Field(gt=0)
    cycles_per_element: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CYCLES_PER_ELEMENT))

    @field_validator("cycles_per_element")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not (x > 0 and math.isfinite(x))}
        if bad:
            raise ValueError(f"cycles per element must be finite and > 0, got {bad}")
        return {**DEFAULT_CYCLES_PER_ELEMENT, **v}

    def cycles(self, fn: str) -> float:
        return self.cycles_per_element.get(fn, self.cycles_per_element["default"])


class MinSize(_Part):
    """A floor on a per-core level's capacity that grows with the PE array (CATransformers' rule: width x depth
    / 64 KB, with fixed sizes for some arrays)."""

    bytes_per_pe: float = Field(0, ge=0)
    overrides: tuple[dict[str, float], ...] = ()        # {pe_rows, pe_cols, size_kb}: at least this size

    def floor_bytes(self, rows: int, cols: int) -> float:
        floor = rows * cols * self.bytes_per_pe
        for o in self.overrides:
            if o.get("pe_rows") == rows and o.get("pe_cols") == cols:
                floor = max(floor, float(o["size_kb"]) * 1024)
        return floor


class MemoryLevel(_Part):
    """One on-chip memory level. Sizes are per instance; bandwidths are words/cycle per instance."""

    name: str = Field(min_length=1)
    sharing: Sharing
    size_bytes: float | None = Field(None, gt=0)
    size_kb: float | None = Field(None, gt=0)
    size_mb: float | None = Field(None, gt=0)
    holds: tuple[Operand, ...] = OPERANDS
    partition: Literal["shared", "split"] = "shared"     # split: every held operand has its own buffer of size
    bw_words_per_cycle: float | None = Field(None, gt=0)      # one port shared by reads and writes
    read_bw_words_per_cycle: float | None = Field(None, gt=0)
    write_bw_words_per_cycle: float | None = Field(None, gt=0)
    double_buffering: bool = True                       # the mapper may keep two copies of a tile
    banks: int = Field(1, gt=0)
    technology: Literal["sram", "register"] | None = None    # default: register per PE, SRAM otherwise
    resident_fraction: float = Field(0.0, ge=0, le=1)   # share kept for activations between ops (per-chip only)
    parent: str | None = None                           # where fills come from (default: next level outward)
    min_size: MinSize | None = None

    @property
    def capacity_bytes(self) -> float:
        """Nominal capacity of one instance (per operand when ``partition`` is split)."""
        for v, scale in ((self.size_bytes, 1), (self.size_kb, 1024), (self.size_mb, 1024 * 1024)):
            if v is not None:
                return v * scale
        return 0.0

    @property
    def tech_kind(self) -> str:
        return self.technology or ("register" if self.sharing == "per_pe" else "sram")

    @property
    def shared_port(self) -> bool:
        return self.bw_words_per_cycle is not None

    @property
    def read_bw(self) -> float:
        return self.bw_words_per_cycle if self.shared_port else self.read_bw_words_per_cycle

    @property
    def write_bw(self) -> float:
        return math.inf if self.shared_port else self.write_bw_words_per_cycle


class Dram(_Part):
    kind: DramKind
    capacity_gb: float = Field(gt=0)
    bw_words_per_cycle: float = Field(gt=0)


LEGACY = {"local_buffer": "per_core", "global_buffer": "per_chip"}
LEGACY_DEFAULTS = {"local_buffer": {"banks": 1}, "global_buffer": {"banks": 8, "resident_fraction": 0.25}}


def _from_legacy(doc: dict[str, Any]) -> dict[str, Any]:
    """The old ``local_buffer`` / ``global_buffer`` sections as memory levels (today's shape is one instance of
    the hierarchy)."""
    if "memory" in doc:
        raise ValueError("give either 'memory' (the hierarchy) or the old 'local_buffer'/'global_buffer' sections, "
                         "not both; migrate by listing them under 'memory' (docs/backend.md, 'Memory hierarchy')")
    levels = []
    for key, sharing in LEGACY.items():
        part = doc.get(key)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise ValueError(f"{key}: expected a mapping; the new form lists levels under 'memory' "
                             "(docs/backend.md, 'Memory hierarchy')")
        levels.append({"name": key, "sharing": sharing, **LEGACY_DEFAULTS[key], **part})
    out = {k: v for k, v in doc.items() if k not in LEGACY}
    out["memory"] = levels
    return out


class Hardware(_Part):
    """One accelerator: ``cores`` tensor+vector core pairs, the memory hierarchy of ``memory``, and DRAM."""

    name: str = "custom"
    description: str = ""
    node_nm: int
    clock_hz: float = Field(gt=0)
    cores: int = Field(gt=0)
    bits: Bits = Bits()
    tensor_unit: TensorUnit
    vector_unit: VectorUnit
    memory: tuple[MemoryLevel, ...]
    dram: Dram
    conventions: Conventions = "catx"                     # "catransformers": their code's cost conventions
    kernel_launch_s: float = Field(0.0, ge=0)            # fixed time every op with work costs (GPU kernel launch)
    static_power_w: float | None = Field(None, ge=0)     # measured static power; replaces the area-based leakage
    tech_overrides: dict[str, Any] = Field(default_factory=dict)   # dotted keys into backend/data/tech

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, doc: Any) -> Any:
        if isinstance(doc, dict) and any(k in doc for k in LEGACY):
            return _from_legacy(doc)
        return doc

    @field_validator("node_nm")
    @classmethod
    def _node(cls, v: int) -> int:
        if v not in NODES_NM:
            raise ValueError(f"technology node {v} nm is not modelled (allowed: {list(NODES_NM)})")
        return v

    @model_validator(mode="after")
    def _hierarchy(self) -> "Hardware":
        check_hierarchy(self.memory)
        p = self.tensor_unit.precisions
        if p is not None and (self.bits.weight not in p or self.bits.activation not in p):
            raise HardwareError(f"bits: {self.bits.weight}-bit weights / {self.bits.activation}-bit activations are "
                                f"not a precision this tensor unit computes in (supported: {list(p)} bits)")
        return self

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: Any, source: str = "<dict>") -> "Hardware":
        if not isinstance(doc, dict):
            raise HardwareError(f"{source}: a hardware description must be a mapping, got {type(doc).__name__}")
        try:
            hw = cls.model_validate(doc)
        except ValidationError as e:
            raise HardwareError(f"{source}: {_name_levels(describe_validation_error(e), doc)}") from None
        except HardwareError as e:
            raise HardwareError(f"{source}: {e}") from None
        try:
            hw.tech  # resolve overrides now so bad keys fail here, naming the file
        except TechDataError as e:
            raise TechDataError(f"{source}: tech_overrides: {e}") from None
        return hw

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Hardware":
        p = Path(path)
        doc = load_yaml(p, "hardware file", HardwareError)      # guarded: missing, directory, UTF-8, depth, aliases
        return cls.from_dict(doc, str(p))

    def with_knobs(self, **knobs: Any) -> "Hardware":
        """A variant with knobs changed: names of ``backend.knobs.KNOBS`` (cores, pe_rows, local_buffer_kb, ...)
        or dotted paths into the description (``memory.register_file.size_bytes``, ``dram.kind``)."""
        from .knobs import apply_knobs
        return apply_knobs(self, knobs)

    # -- the hierarchy -------------------------------------------------------------------------------------
    def level(self, name: str) -> MemoryLevel:
        for lv in self.memory:
            if lv.name == name:
                return lv
        raise HardwareError(f"hardware {self.name!r} has no memory level {name!r} "
                            f"(levels: {', '.join(lv.name for lv in self.memory)})")

    def first_level(self, sharing: str) -> MemoryLevel | None:
        return next((lv for lv in self.memory if lv.sharing == sharing), None)

    @property
    def local_buffer(self) -> MemoryLevel | None:
        """The innermost per-core level (the old ``local_buffer``)."""
        return self.first_level("per_core")

    @property
    def global_buffer(self) -> MemoryLevel | None:
        """The innermost per-chip level (the old ``global_buffer``)."""
        return self.first_level("per_chip")

    def instances(self, lv: MemoryLevel) -> int:
        return {"per_pe": self.cores * self.tensor_unit.pe_rows * self.tensor_unit.pe_cols,
                "per_core": self.cores, "per_chip": 1}[lv.sharing]

    def capacity_bytes(self, lv: MemoryLevel) -> float:
        """Capacity of one instance (per held operand when split), the level's floor rule applied."""
        cap = lv.capacity_bytes
        if lv.min_size is not None:
            cap = max(cap, lv.min_size.floor_bytes(self.tensor_unit.pe_rows, self.tensor_unit.pe_cols))
        return cap

    def storage_bytes(self, lv: MemoryLevel) -> float:
        """Bytes of storage of one instance (all partitions)."""
        return self.capacity_bytes(lv) * (len(lv.holds) if lv.partition == "split" else 1)

    # -- derived quantities --------------------------------------------------------------------------------
    @property
    def tech(self) -> Tech:
        return tech_for(self.node_nm, json.dumps(self.tech_overrides, sort_keys=True))

    @property
    def word_bits(self) -> int:
        return self.bits.activation

    @property
    def pes(self) -> int:
        return self.cores * self.tensor_unit.pe_rows * self.tensor_unit.pe_cols

    @property
    def peak_tops(self) -> float:
        """Peak tensor throughput, 2 ops per MAC per cycle, in tera-ops/s."""
        return 2.0 * self.pes * self.clock_hz / 1e12

    @property
    def area_by_component_mm2(self) -> dict[str, float]:
        return dict(_area(self.signature()))

    @property
    def area_mm2(self) -> float:
        return sum(self.area_by_component_mm2.values())

    @property
    def leakage_power_w(self) -> float:
        return leakage_w(self, self.area_by_component_mm2)

    def signature(self) -> str:
        """Canonical JSON of every field; the cache key for anything derived from this hardware."""
        return self.model_dump_json()


def check_hierarchy(levels: tuple[MemoryLevel, ...]) -> None:
    """Structural rules of the hierarchy; errors name the level and the field."""
    names = [lv.name for lv in levels]
    if not levels:
        raise HardwareError("memory: at least one on-chip level is needed (e.g. a per-core local buffer)")
    for i, lv in enumerate(levels):
        where = f"memory[{i}] ({lv.name})"
        if lv.name in names[:i] or lv.name == "dram":
            raise HardwareError(f"{where}: name: level names must be unique and not 'dram'")
        if not lv.holds:
            raise HardwareError(f"{where}: holds: a level must hold at least one of {', '.join(OPERANDS)}")
        if len(set(lv.holds)) != len(lv.holds):
            raise HardwareError(f"{where}: holds: an operand is listed twice")
        sizes = [f for f in ("size_bytes", "size_kb", "size_mb") if getattr(lv, f) is not None]
        if len(sizes) != 1:
            raise HardwareError(f"{where}: give exactly one of size_bytes, size_kb, size_mb (got {sizes or 'none'})")
        ports = (lv.bw_words_per_cycle is not None, lv.read_bw_words_per_cycle is not None,
                 lv.write_bw_words_per_cycle is not None)
        if ports not in ((True, False, False), (False, True, True)):
            raise HardwareError(f"{where}: give bw_words_per_cycle (one shared port) or both "
                                "read_bw_words_per_cycle and write_bw_words_per_cycle (separate ports), each > 0")
        if lv.resident_fraction > 0 and lv.sharing != "per_chip":
            raise HardwareError(f"{where}: resident_fraction: only a per-chip level keeps activations between ops")
        if lv.min_size is not None and lv.sharing != "per_core":
            raise HardwareError(f"{where}: min_size: only a per-core level has a floor tied to the PE array")
        if i and SHARINGS.index(lv.sharing) < SHARINGS.index(levels[i - 1].sharing):
            raise HardwareError(f"{where}: sharing: levels go from the PEs outward, but {lv.sharing} comes after "
                                f"{levels[i - 1].sharing} ({levels[i - 1].name})")
    if sum(lv.sharing == "per_pe" for lv in levels) > 1:
        raise HardwareError("memory: at most one per-PE level is modelled (it holds the dataflow's stationary "
                            "operand for PE-local reuse); merge the register files into one level")
    if sum(lv.resident_fraction > 0 for lv in levels) > 1:
        raise HardwareError("memory: resident_fraction > 0 on more than one level; activations have one home")
    for op in OPERANDS:
        parent_chain(levels, op)


def parent_of(levels: tuple[MemoryLevel, ...], i: int, op: str) -> int:
    """Index of the level operand ``op`` is fetched from when level ``i`` holds it (``len(levels)`` is DRAM)."""
    names = [lv.name for lv in levels]
    lv = levels[i]
    if lv.parent is None:
        j = i + 1
    elif lv.parent == "dram":
        return len(levels)
    elif lv.parent in names:
        j = names.index(lv.parent)
        if j <= i:
            raise HardwareError(f"memory[{i}] ({lv.name}): parent: {lv.parent!r} is not outward of this level; "
                                f"operand {op} would have no path to DRAM (a cycle in the hierarchy)")
    else:
        raise HardwareError(f"memory[{i}] ({lv.name}): parent: no level {lv.parent!r} (levels: {', '.join(names)}, "
                            "dram)")
    while j < len(levels) and op not in levels[j].holds:
        j += 1
    return j


def parent_chain(levels: tuple[MemoryLevel, ...], op: str) -> list[int]:
    """The levels holding ``op`` from the innermost outward, ending with DRAM (``len(levels)``)."""
    holders = [i for i, lv in enumerate(levels) if op in lv.holds]
    if not holders:
        return [len(levels)]
    chain, seen = [holders[0]], {holders[0]}
    while chain[-1] < len(levels):
        j = parent_of(levels, chain[-1], op)
        if j in seen:
            raise HardwareError(f"memory: a cycle in the hierarchy for {op}: "
                                + " -> ".join(levels[k].name for k in [*chain, j]))
        chain.append(j)
        seen.add(j)
    return chain


def _name_levels(msg: str, doc: dict[str, Any]) -> str:
    """``memory.1.bw_words_per_cycle`` -> ``memory[1] (local_buffer).bw_words_per_cycle`` in pydantic messages."""
    mem = doc.get("memory")
    if not isinstance(mem, list):
        return msg
    for i, lv in enumerate(mem):
        name = lv.get("name", "?") if isinstance(lv, dict) else "?"
        msg = msg.replace(f"memory.{i}.", f"memory[{i}] ({name}).").replace(f"memory.{i}:", f"memory[{i}] ({name}):")
    return msg


@functools.lru_cache(maxsize=8192)
def _area(sig: str) -> tuple[tuple[str, float], ...]:
    hw = Hardware.model_validate_json(sig)
    return tuple(area_parts(hw).items())


def area_parts(hw: Hardware) -> dict[str, float]:
    """Die area by component (mm2): PE array, vector lanes, and each memory level (all instances)."""
    if hw.conventions == "catransformers":
        from .conventions import catransformers_area_mm2
        return catransformers_area_mm2(hw)
    t = hw.tech
    mac_bits = max(hw.bits.weight, hw.bits.activation)
    parts = {"pe_array": hw.pes * t.mac_area_mm2(mac_bits),
             "vector": hw.cores * hw.vector_unit.lanes * t.vector_lane_area_mm2()}
    for lv in hw.memory:
        per = (t.register_area_mm2(hw.storage_bytes(lv)) if lv.tech_kind == "register"
               else t.sram_area_mm2(hw.storage_bytes(lv)))
        parts[lv.name] = hw.instances(lv) * per
    return parts


def leakage_w(hw: Hardware, area: dict[str, float]) -> float:
    """Chip leakage while powered: logic area x W/mm2 + SRAM bits x W/bit (register files count as logic); a
    measured ``static_power_w`` replaces it."""
    if hw.conventions == "catransformers":
        return 0.0
    if hw.static_power_w is not None:
        return hw.static_power_w
    t = hw.tech
    logic = area["pe_array"] + area["vector"]
    sram_bits = 0.0
    for lv in hw.memory:
        if lv.tech_kind == "register":
            logic += area[lv.name]
        else:
            sram_bits += 8 * hw.instances(lv) * hw.storage_bytes(lv)
    return logic * t.logic_leakage_w_per_mm2() + sram_bits * t.sram_leakage_w_per_bit()
