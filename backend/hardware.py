"""The accelerator template: a validated pydantic description, with peak TOPS, area and leakage from it alone."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import HardwareError, TechDataError, describe_validation_error
from .tech import NODES_NM, Tech, tech_for

Dataflow = Literal["os", "ws", "is"]
DramKind = Literal["LPDDR4", "LPDDR5", "DDR4", "HBM2", "HBM3"]

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
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bits(_Part):
    weight: int = Field(8, ge=1, le=32)
    activation: int = Field(8, ge=1, le=32)
    accumulator: int = Field(32, ge=1, le=64)


class TensorUnit(_Part):
    pe_rows: int = Field(gt=0)
    pe_cols: int = Field(gt=0)
    dataflows: tuple[Dataflow, ...] = ("os", "ws", "is")
    register_accesses_per_mac: float = Field(3.0, ge=0)   # pipeline-register reads/writes per MAC

    @field_validator("dataflows")
    @classmethod
    def _nonempty(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("at least one dataflow is needed (allowed: os, ws, is)")
        return tuple(dict.fromkeys(v))


class VectorUnit(_Part):
    lanes: int = Field(gt=0)
    cycles_per_element: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CYCLES_PER_ELEMENT))

    @field_validator("cycles_per_element")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"cycles per element must be > 0, got {bad}")
        return {**DEFAULT_CYCLES_PER_ELEMENT, **v}

    def cycles(self, fn: str) -> float:
        return self.cycles_per_element.get(fn, self.cycles_per_element["default"])


class LocalBuffer(_Part):
    size_kb: float = Field(gt=0)
    bw_words_per_cycle: float = Field(gt=0)
    banks: int = Field(1, gt=0)


class GlobalBuffer(_Part):
    size_mb: float = Field(gt=0)
    bw_words_per_cycle: float = Field(gt=0)
    banks: int = Field(8, gt=0)
    # activations up to this fraction of the buffer stay on chip between ops instead of going to DRAM
    resident_fraction: float = Field(0.25, ge=0, le=1)


class Dram(_Part):
    kind: DramKind
    capacity_gb: float = Field(gt=0)
    bw_words_per_cycle: float = Field(gt=0)


class Hardware(_Part):
    """One accelerator: ``cores`` tensor+vector core pairs with local buffers, a shared global buffer, DRAM."""

    name: str = "custom"
    node_nm: int
    clock_hz: float = Field(gt=0)
    cores: int = Field(gt=0)
    bits: Bits = Bits()
    tensor_unit: TensorUnit
    vector_unit: VectorUnit
    local_buffer: LocalBuffer
    global_buffer: GlobalBuffer
    dram: Dram
    tech_overrides: dict[str, Any] = Field(default_factory=dict)   # dotted keys into backend/data/tech

    @field_validator("node_nm")
    @classmethod
    def _node(cls, v: int) -> int:
        if v not in NODES_NM:
            raise ValueError(f"technology node {v} nm is not modelled (allowed: {list(NODES_NM)})")
        return v

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: Any, source: str = "<dict>") -> "Hardware":
        if not isinstance(doc, dict):
            raise HardwareError(f"{source}: a hardware description must be a mapping, got {type(doc).__name__}")
        try:
            hw = cls.model_validate(doc)
        except ValidationError as e:
            raise HardwareError(f"{source}: {describe_validation_error(e)}") from None
        try:
            hw.tech  # resolve overrides now so bad keys fail here, naming the file
        except TechDataError as e:
            raise TechDataError(f"{source}: tech_overrides: {e}") from None
        return hw

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Hardware":
        p = Path(path)
        if not p.is_file():
            raise HardwareError(f"{p}: no such hardware file")
        try:
            doc = yaml.safe_load(p.read_text())
        except yaml.YAMLError as e:
            raise HardwareError(f"{p}: not valid YAML ({e})") from None
        return cls.from_dict(doc, str(p))

    def with_knobs(self, **knobs: Any) -> "Hardware":
        """A variant with CATransformers-style knobs changed (cores, pe_rows, pe_cols, local_buffer_kb,
        local_bw_words_per_cycle, global_buffer_mb, vector_lanes, clock_hz, node_nm, dram_kind, dram_gb)."""
        doc = self.model_dump()
        paths = {"cores": ("cores",), "pe_rows": ("tensor_unit", "pe_rows"), "pe_cols": ("tensor_unit", "pe_cols"),
                 "local_buffer_kb": ("local_buffer", "size_kb"),
                 "local_bw_words_per_cycle": ("local_buffer", "bw_words_per_cycle"),
                 "global_buffer_mb": ("global_buffer", "size_mb"),
                 "global_bw_words_per_cycle": ("global_buffer", "bw_words_per_cycle"),
                 "vector_lanes": ("vector_unit", "lanes"), "clock_hz": ("clock_hz",), "node_nm": ("node_nm",),
                 "dram_kind": ("dram", "kind"), "dram_gb": ("dram", "capacity_gb"),
                 "dram_bw_words_per_cycle": ("dram", "bw_words_per_cycle"), "name": ("name",)}
        for k, v in knobs.items():
            if k not in paths:
                raise HardwareError(f"unknown hardware knob {k!r} (allowed: {sorted(paths)})")
            d = doc
            for p in paths[k][:-1]:
                d = d[p]
            d[paths[k][-1]] = v
        return Hardware.from_dict(doc, f"{self.name} with {knobs}")

    # -- derived quantities --------------------------------------------------------------------------------
    @property
    def tech(self) -> Tech:
        return tech_for(self.node_nm, json.dumps(self.tech_overrides, sort_keys=True))

    @property
    def word_bits(self) -> int:
        return self.bits.activation

    @property
    def local_buffer_bytes(self) -> float:
        return self.local_buffer.size_kb * 1024

    @property
    def global_buffer_bytes(self) -> float:
        return self.global_buffer.size_mb * 1024 * 1024

    @property
    def pes(self) -> int:
        return self.cores * self.tensor_unit.pe_rows * self.tensor_unit.pe_cols

    @property
    def peak_tops(self) -> float:
        """Peak tensor throughput, 2 ops per MAC per cycle, in tera-ops/s."""
        return 2.0 * self.pes * self.clock_hz / 1e12

    @property
    def area_by_component_mm2(self) -> dict[str, float]:
        return _area(self.signature())

    @property
    def area_mm2(self) -> float:
        return sum(self.area_by_component_mm2.values())

    @property
    def leakage_power_w(self) -> float:
        return leakage_w(self, self.area_by_component_mm2)

    def signature(self) -> str:
        """Canonical JSON of every field; the cache key for anything derived from this hardware."""
        return self.model_dump_json()


@functools.lru_cache(maxsize=4096)
def _area(sig: str) -> dict[str, float]:
    return area_parts(Hardware.model_validate_json(sig))


def area_parts(hw: Hardware) -> dict[str, float]:
    """Die area by component (mm2): PE array, vector lanes, local buffers, global buffer (DRAM excluded)."""
    t = hw.tech
    mac_bits = max(hw.bits.weight, hw.bits.activation)
    return {
        "pe_array": hw.pes * t.mac_area_mm2(mac_bits),
        "vector": hw.cores * hw.vector_unit.lanes * t.vector_lane_area_mm2(),
        "local_buffer": hw.cores * t.sram_area_mm2(hw.local_buffer_bytes),
        "global_buffer": t.sram_area_mm2(hw.global_buffer_bytes),
    }


def leakage_w(hw: Hardware, area: dict[str, float]) -> float:
    """Chip leakage while powered: logic area x W/mm2 + SRAM bits x W/bit."""
    t = hw.tech
    logic = area["pe_array"] + area["vector"]
    sram_bits = 8 * (hw.cores * hw.local_buffer_bytes + hw.global_buffer_bytes)
    return logic * t.logic_leakage_w_per_mm2() + sram_bits * t.sram_leakage_w_per_bit()
