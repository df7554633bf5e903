"""Vector-unit ops (elementwise, reductions, normalisation, softmax) and data movement, with their traffic.

A vector op streams its operands through the local buffer: ``ceil(elements / (lanes x cores)) x cycles per
element`` of compute, overlapped with reading its inputs and writing its output at the level where each tensor
lives (global buffer when resident, else DRAM through the global buffer). A fused op reads its producer's output
from the local buffer instead. Movement ops are free views (reshape; transpose and slice of resident tensors,
which the consumer reads strided) or DMA copies (read + write at the tensor's home).
"""

from __future__ import annotations

import math

from .costs import HwConsts
from .mapper import COMPONENTS, OpCost

FREE_VIEWS = {"reshape"}
STRIDED_VIEWS = {"transpose", "slice"}


def _zero() -> dict[str, float]:
    return {k: 0.0 for k in COMPONENTS}


def vector_cost(elements: int, cycles_per_element: float, reads: list[tuple[float, str]], write: tuple[float, str],
                c: HwConsts, fn: str = "") -> OpCost:
    """``reads``/``write``: (bits, home) with home in {"local", "glb", "dram"}."""
    lanes = c.lanes * c.cores
    compute = math.ceil(elements / lanes) * cycles_per_element
    moved = {"local": 0.0, "glb": 0.0, "dram": 0.0}
    for bits, home in [*reads, write]:
        moved[home] += bits
    glb_bits = moved["glb"] + moved["dram"]          # DRAM data passes through the global buffer
    local_bits = sum(b for b, _ in reads) + write[0]
    t_glb = glb_bits / c.bw_glb
    t_dram = moved["dram"] / c.bw_dram
    t_local = local_bits / (c.bw_local * c.cores)
    cycles = max(compute, t_glb, t_dram, t_local)
    parts = _zero()
    parts["vector"] = elements * cycles_per_element * c.e_lane
    parts["local_buffer"] = local_bits * c.e_local
    parts["global_buffer"] = glb_bits * c.e_glb
    parts["dram"] = moved["dram"] * c.e_dram
    parts["leakage"] = c.leak_w * cycles / c.clock_hz
    terms = {"compute": compute, "local_buffer": t_local, "global_buffer": t_glb, "dram": t_dram}
    bound = max(terms, key=terms.get)
    sched = {"unit": "vector", "fn": fn, "elements": elements, "cycles_per_element": cycles_per_element,
             "lanes": lanes, "utilisation": compute / cycles if cycles else 0.0, "bound": bound,
             "cycles_by_term": terms, "traffic_bytes": {k: v / 8 for k, v in moved.items()}}
    return OpCost(cycles, parts, sched)


def movement_cost(kind: str, out_bits: float, src_home: str, dst_home: str, c: HwConsts) -> OpCost:
    if kind in FREE_VIEWS or (kind in STRIDED_VIEWS and src_home == "glb" and dst_home == "glb"):
        return OpCost(0.0, _zero(), {"unit": "none", "view": True, "bound": "none", "utilisation": 0.0})
    moved = {"glb": 0.0, "dram": 0.0}
    moved[src_home if src_home in moved else "glb"] += out_bits
    moved[dst_home if dst_home in moved else "glb"] += out_bits
    glb_bits = moved["glb"] + moved["dram"]
    t_glb, t_dram = glb_bits / c.bw_glb, moved["dram"] / c.bw_dram
    cycles = max(t_glb, t_dram)
    parts = _zero()
    parts["global_buffer"] = glb_bits * c.e_glb
    parts["dram"] = moved["dram"] * c.e_dram
    parts["leakage"] = c.leak_w * cycles / c.clock_hz
    return OpCost(cycles, parts, {"unit": "dma", "view": False, "bound": "dram" if t_dram >= t_glb else
                                  "global_buffer", "utilisation": 0.0,
                                  "traffic_bytes": {k: v / 8 for k, v in moved.items()}})
