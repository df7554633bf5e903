"""Cost conventions: CATX's own physics (the default) or CATransformers' code conventions, for reproduction only.

Under ``conventions: catransformers`` (``data/tech/catransformers.yaml``): 2.2 pJ per MAC, per-word access energies
from their Accelergy/CACTI tables (every access counted per 8-bit word, partial sums included), no pipeline
registers and no leakage, an ideal spatial array (MACs / active PEs: no fill, drain or weight loading), the cores
act as one spatial array (1x1, 2x1, 2x2) whose per-core buffers merge, every op mapped from DRAM (no activations
kept on chip between ops), and the area follows their formula and tables. Latency is the plain sum of op latencies under either convention.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from .errors import TechDataError

if TYPE_CHECKING:
    from .hardware import Hardware, MemoryLevel

DATA_FILE = Path(__file__).parent / "data" / "tech" / "catransformers.yaml"


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    try:
        return yaml.safe_load(DATA_FILE.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise TechDataError(f"{DATA_FILE}: cannot read CATransformers' constants ({e})") from None


def _value(key: str) -> Any:
    try:
        return table()[key]["value"]
    except (KeyError, TypeError):
        raise TechDataError(f"{DATA_FILE}: missing entry {key!r}") from None


def loglog(points: list[list[float]], x: float, col: int = 1) -> float:
    """Piecewise log-log interpolation through (x, y) points; end slopes outside."""
    xs = np.log([p[0] for p in points])
    ys = np.log([p[col] for p in points])
    lx = math.log(x)
    i = int(np.clip(np.searchsorted(xs, lx) - 1, 0, len(xs) - 2))
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return float(math.exp(ys[i] + slope * (lx - xs[i])))


def core_grid(cores: int) -> tuple[int, int]:
    """How their code arranges cores into one array: (x, y) = (2**ceil, 2**floor of log2(cores)/2)."""
    d1 = 2 ** int(math.log2(cores) / 2)
    d2 = cores // d1
    return max(d1, d2), min(d1, d2)


class CatxConventions:
    """CATX's own cost model: every hook returns CATX's value."""

    pipeline = True      # the systolic array's fill, drain and weight loading take time (SCALE-Sim's model)

    def effective(self, hw: "Hardware") -> "Hardware":
        return hw

    def level_energy_j_per_bit(self, lv: "MemoryLevel", capacity_bytes: float, e_bit: float) -> float:
        return e_bit

    def accumulator_bits(self, hw: "Hardware") -> int:
        return hw.bits.accumulator

    def dram_energy_j_per_bit(self, hw: "Hardware") -> float:
        return hw.tech.dram_energy_j_per_bit(hw.dram.kind)

    def mac_energy_j(self, hw: "Hardware", e_mac: float) -> float:
        return e_mac

    def pipeline_energy_j(self, e: float) -> float:
        return e


class CATransformersConventions(CatxConventions):
    """Their code's conventions; see the module docstring."""

    pipeline = False     # Sunstone: compute cycles = MACs / active PEs, no fill, drain or loading

    def effective(self, hw: "Hardware") -> "Hardware":
        """One array of (x * rows) x (y * cols) PEs; per-core levels merged (capacity and bandwidth x cores); no
        activations kept on chip between ops (each op is mapped from DRAM)."""
        x, y = core_grid(hw.cores)
        doc = hw.model_dump(mode="json")
        doc.update(cores=1, conventions="catx")
        for d in doc["memory"]:
            d["resident_fraction"] = 0.0               # every op starts and ends in DRAM
        doc["tensor_unit"].update(pe_rows=hw.tensor_unit.pe_rows * x, pe_cols=hw.tensor_unit.pe_cols * y)
        doc["vector_unit"]["lanes"] = hw.vector_unit.lanes * hw.cores
        for lv, d in zip(hw.memory, doc["memory"]):
            if lv.sharing != "per_core":
                continue
            for f in ("size_bytes", "size_kb", "size_mb"):
                d.pop(f, None)
            d["size_bytes"] = hw.capacity_bytes(lv) * hw.cores
            d["min_size"] = None
            for f in ("bw_words_per_cycle", "read_bw_words_per_cycle", "write_bw_words_per_cycle"):
                if d.get(f) is not None:
                    d[f] *= hw.cores
        from .hardware import Hardware
        return Hardware.model_validate(doc)

    def level_energy_j_per_bit(self, lv: "MemoryLevel", capacity_bytes: float, e_bit: float) -> float:
        """Their per-word access energy (mean of read and write) spread over the word's bits (8); an access reaches
        one partition of ``capacity_bytes``."""
        if lv.tech_kind == "register":
            pj = (_value("register_read_pj") + _value("register_write_pj")) / 2
        else:
            pts = table()["sram_access_pj"]["points"]["value"]
            pj = (loglog(pts, capacity_bytes, 1) + loglog(pts, capacity_bytes, 2)) / 2
        return pj * 1e-12 / 8

    def accumulator_bits(self, hw: "Hardware") -> int:
        return hw.bits.activation          # Sunstone counts a partial sum as one word

    def dram_energy_j_per_bit(self, hw: "Hardware") -> float:
        return _value("dram_access_pj") * 1e-12 / 8

    def mac_energy_j(self, hw: "Hardware", e_mac: float) -> float:
        return _value("mac_energy_pj") * 1e-12

    def pipeline_energy_j(self, e: float) -> float:
        return 0.0


def conventions_of(hw: "Hardware") -> CatxConventions:
    return CATransformersConventions() if hw.conventions == "catransformers" else CatxConventions()


def catransformers_area_mm2(hw: "Hardware") -> dict[str, float]:
    """Their area formula: tensor PEs x (MAC + 32 B L1), vector lanes x (MAC + 12 B L1), the per-core buffer once
    per core for each of the two core types (the tensor core's with the floor rule), and the global buffer."""
    mac = _value("mac_area_um2")
    pts = table()["sram_area_um2"]["points"]["value"]
    parts = {"pe_array": hw.pes * (mac + _value("tensor_l1_area_um2")) * 1e-6,
             "vector": hw.cores * hw.vector_unit.lanes * (mac + _value("vector_l1_area_um2")) * 1e-6}
    for lv in hw.memory:
        if lv.sharing == "per_pe":
            parts[lv.name] = 0.0                       # counted in the PE (their L1)
        elif lv.sharing == "per_core":
            tensor = loglog(pts, hw.capacity_bytes(lv))
            vector = loglog(pts, lv.capacity_bytes)    # the vector core's buffer has no floor
            parts[lv.name] = hw.cores * (tensor + vector) * 1e-6
        else:
            parts[lv.name] = loglog(pts, lv.capacity_bytes) * 1e-6
    return parts
