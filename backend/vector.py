"""Vector-unit ops (elementwise, reductions, normalisation, softmax) and data movement, with their traffic.

A vector op streams its operands through the innermost per-core level ("local"): ``ceil(elements / (lanes x
cores)) x cycles per element`` of compute, overlapped with reading its inputs and writing its output where each
tensor lives: the home level when resident ("glb"), else DRAM through the home level. A fused op reads its
producer's output from the local level instead. Movement ops are free views (reshape; transpose and slice of
resident tensors, which the consumer reads strided) or DMA copies (read + write at the tensors' homes).

One equation (``vector_cost``) for both: it broadcasts over configurations, so estimates and sweeps share it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cost import Ports
from .costs import DRAM, HwConsts

FREE_VIEWS = {"reshape"}
STRIDED_VIEWS = {"transpose", "slice"}


def unit_levels(c: HwConsts) -> tuple[int, int, int]:
    """Level indices (DRAM = len(levels)) that play "local" (where the vector unit streams), "glb" (the home of
    resident tensors) and "dram"."""
    nl = len(c.levels)
    local = c.innermost("per_core")
    if local < 0:
        local = next((i for i, lv in enumerate(c.levels) if lv.sharing != "per_pe"), nl)
    glb = c.home if c.home != DRAM else (c.innermost("per_chip") if c.innermost("per_chip") >= 0 else local)
    return local, glb, nl


def vector_cost(k: Ports, c: HwConsts, elements: int, cycles_per_element: float, reads: list[tuple[float, str]],
                write: tuple[float, str], stream: bool = True, detail: bool = False):
    """Cycles and energy (J) of one vector op or DMA copy on every configuration of ``k``.

    ``reads``/``write``: (bits, home) with home in {"local", "glb", "dram"}. ``stream``: operands pass through
    the local level (vector ops); a DMA copy (``stream=False``) moves data between homes only."""
    local, glb, dram = unit_levels(c)
    moved = {"local": 0.0, "glb": 0.0, "dram": 0.0}
    for bits, home in [*reads, write]:
        moved[home] += bits
    reads_at = {j: 0.0 for j in (local, glb, dram)}
    writes_at = dict(reads_at)
    for bits, home in reads:
        if home != "local":
            reads_at[glb] += bits                 # resident in the home level, or passing through it from DRAM
        if home == "dram":
            reads_at[dram] += bits
    bits, home = write
    if home != "local":
        writes_at[glb] += bits
    if home == "dram":
        writes_at[dram] += bits
    if stream:                                    # every operand streams through the local level
        reads_at[local] += sum(b for b, _ in reads)
        writes_at[local] += bits
    compute = np.ceil(elements / (k.lanes * k.cores)) * cycles_per_element
    times = {name: k.port_time(j, reads_at[j] / k.n[j], writes_at[j] / k.n[j]) for name, j in
             (("local", local), ("glb", glb), ("dram", dram)) if j in reads_at}
    cycles = compute
    for v in times.values():
        cycles = np.maximum(cycles, v)
    level_j = {j: (reads_at[j] + writes_at[j]) * k.e_bit[j] for j in reads_at}
    energy = elements * cycles_per_element * k.e_lane + sum(level_j.values()) + k.leak_w * cycles / k.clock_hz
    if not detail:
        return cycles, energy
    return cycles, energy, level_j, {"compute": compute, **times}, moved


def _scalar(x: Any) -> float:
    return float(np.asarray(x).reshape(-1)[0])


def describe(c: HwConsts, k: Ports, elements: int, cycles_per_element: float, reads, write, fn: str,
             stream: bool = True):
    """Cycles, energy by component and a schedule dict for one configuration (``estimate``'s view)."""
    from .mapper import OpCost, components
    cycles, energy, level_j, terms, moved = vector_cost(k, c, elements, cycles_per_element, reads, write, stream,
                                                        detail=True)
    cycles = _scalar(cycles)
    parts = {name: 0.0 for name in components(c)}
    parts["vector"] = _scalar(elements * cycles_per_element * k.e_lane)
    names = [lv.name for lv in c.levels] + ["dram"]
    for j, e in level_j.items():
        parts[names[j]] += _scalar(e)
    parts["leakage"] = _scalar(k.leak_w * cycles / k.clock_hz)
    terms = {name: _scalar(v) for name, v in terms.items()}
    bound = max(terms, key=terms.get)
    if not stream:
        return OpCost(cycles, parts, {"unit": "dma", "view": False, "bound": bound, "utilisation": 0.0,
                                      "cycles_by_term": terms,
                                      "traffic_bytes": {h: v / 8 for h, v in moved.items() if h != "local"}})
    lanes = int(_scalar(k.lanes)) * c.cores
    sched = {"unit": "vector", "fn": fn, "elements": elements, "cycles_per_element": cycles_per_element,
             "lanes": lanes, "utilisation": terms["compute"] / cycles if cycles else 0.0, "bound": bound,
             "cycles_by_term": terms, "traffic_bytes": {h: v / 8 for h, v in moved.items()}}
    return OpCost(cycles, parts, sched)


def is_free_view(kind: str, src_home: str, dst_home: str) -> bool:
    return kind in FREE_VIEWS or (kind in STRIDED_VIEWS and src_home == "glb" and dst_home == "glb")


def movement(kind: str, out_bits: float, src_home: str, dst_home: str):
    """(reads, write) of a DMA copy; homes other than glb/dram count as glb."""
    src = src_home if src_home in ("glb", "dram") else "glb"
    dst = dst_home if dst_home in ("glb", "dram") else "glb"
    return [(out_bits, src)], (out_bits, dst)


def free_view(c: HwConsts):
    from .mapper import OpCost, components
    return OpCost(0.0, {name: 0.0 for name in components(c)},
                  {"unit": "none", "view": True, "bound": "none", "utilisation": 0.0})



def epilogue_cost(k: Ports, c: HwConsts, parts: list[dict], extra_reads: list[tuple[float, str]],
                  cycles_per_element) -> tuple:
    """A contraction's fused epilogue (``attrs["epilogue"]``: bias, activation, residual, normalisation): its vector
    work on the lanes, ``ceil(iterations / (lanes x cores)) x cycles`` per part, and its extra operands read from
    where they live, streamed through the local level. It runs on the output tiles as the array drains them, so it
    overlaps the GEMM; returns (cycles, energy J, vector energy J) on every configuration of ``k``."""
    compute = 0.0
    lane_j = 0.0
    for p in parts:
        cpe = cycles_per_element(p.get("fn") or p.get("kind", "default"))
        compute = compute + np.ceil(int(p["iterations"]) / (k.lanes * k.cores)) * cpe
        lane_j = lane_j + int(p["iterations"]) * cpe * k.e_lane
    if extra_reads:
        cyc, energy = vector_cost(k, c, 0, 0.0, extra_reads, (0.0, "local"))
    else:
        cyc, energy = 0.0, 0.0
    return np.maximum(compute, cyc), energy + lane_j, lane_j
