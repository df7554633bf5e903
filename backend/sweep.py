"""Fast path for the search: latency, energy and area of one or more graphs on many hardware configurations.

Configurations are grouped by everything except the per-core knobs that only change compute and port costs
(PE rows and columns, local-buffer bandwidth, vector lanes); within a group the buffer-level fronts are shared
and the exact search of ``mapper.map_gemm`` runs once, vectorised across configurations x core splits x
dataflows x candidate tilings. Results equal ``estimate()`` per configuration (tests check this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

import ir

from . import systolic
from .contraction import as_gemm
from .costs import HwConsts, consts_of
from .errors import BackendError
from .estimate import fusable_inputs, tensor_homes
from .hardware import Hardware, area_parts
from .mapper import TARGETS, level_fronts, objective, splits
from .vector import movement_cost


@dataclass
class SweepResult:
    latency_s: np.ndarray
    energy_j: np.ndarray
    area_mm2: np.ndarray
    feasible: np.ndarray
    leakage_power_w: np.ndarray
    peak_tops: np.ndarray


class _Vec:
    """Per-configuration constants as column arrays, group-wide ones as scalars (duck-types HwConsts)."""

    def __init__(self, cs: Sequence[HwConsts]):
        c0 = cs[0]
        for f in HwConsts.__dataclass_fields__:
            setattr(self, f, getattr(c0, f))
        for f in ("rows", "cols", "bw_local", "e_local", "leak_w", "lanes"):
            setattr(self, f, np.array([getattr(c, f) for c in cs], dtype=np.float64))


def _group_key(c: HwConsts) -> tuple:
    return (c.cores, c.dataflows, c.clock_hz, c.bits_a, c.bits_b, c.bits_acc, c.local_bits, c.glb_bits, c.bw_glb,
            c.bw_dram, c.e_mac, c.e_reg_per_mac, c.e_glb, c.e_dram, c.e_lane, c.resident_bits)


def _gemm_many(g, v: _Vec, res: tuple[bool, bool, bool], target: str) -> tuple[np.ndarray, np.ndarray]:
    """Cycles and energy (J, leakage included) of the best schedule per configuration (inf if none fits)."""
    n = v.rows.shape[0]
    ba, bb, bo, bacc = v.bits_a, v.bits_b, v.bits_a, v.bits_acc
    sizes = (g.m * g.k * ba, g.k * g.n * bb, g.m * g.n * bo)
    res_bits = g.b * sum(s for s, r in zip(sizes, res) if r)
    if res_bits > v.glb_bits / 2:
        res, res_bits = (False, False, False), 0
    weights = tuple(0 if r else 1 for r in res)
    bits = (ba, bb, bo, bacc)
    ot, o_idx, o_db = level_fronts(g.m, g.k, g.n, bits, weights, v.glb_bits - res_bits)
    best_obj = np.full(n, np.inf)
    best_cyc = np.full(n, np.inf)
    best_e = np.full(n, np.inf)
    if o_idx.size == 0:
        return best_cyc, best_e
    td = g.b * ot.traffic_bits[o_idx]
    ed = ot.edge_bits[o_idx]
    s_d = td / v.bw_dram
    rows, cols = v.rows[:, None, None, None], v.cols[:, None, None, None]
    bw_l, e_l, leak = (x[:, None, None, None] for x in (v.bw_local, v.e_local, v.leak_w))
    dfs = v.dataflows
    for _, b1, m1, n1 in splits(g, v.cores):
        lt, l_idx, l_db = level_fronts(m1, g.k, n1, bits, (1, 1, 1), v.local_bits)
        if l_idx.size == 0:
            continue
        tl = (b1 * lt.traffic_bits[l_idx])[None, None, :, None]
        el = lt.edge_bits[l_idx][None, None, :, None]
        dbl = l_db[None, None, :, None]
        cc = np.stack([systolic.compute_cycles(df, m1, g.k, n1, rows[:, 0], cols[:, 0], b1) for df in dfs], 1)
        port = np.stack([systolic.array_traffic_bits(df, m1, g.k, n1, rows[:, 0], cols[:, 0], ba, bb, bo, bacc, b1)
                         for df in dfs], 1)                       # (n, ndf, 1, 1)
        t_port = (port + tl) / bw_l
        base = np.maximum(cc, t_port)
        s_l = v.cores * tl / v.bw_glb
        inner = np.where(dbl, np.maximum(base, s_l), base + s_l)
        total = np.where(o_db[None, None, None, :], np.maximum(inner, s_d), inner + s_d)
        total = np.maximum(total, (v.cores * tl + td) / v.bw_glb)
        total = total + v.cores * el / v.bw_glb + ed / v.bw_dram
        energy = (g.macs * (v.e_mac + v.e_reg_per_mac) + v.cores * (port + tl) * e_l
                  + (v.cores * tl + td) * v.e_glb + td * v.e_dram + leak * total / v.clock_hz)
        obj = objective(target, total, energy).reshape(n, -1)
        j = np.argmin(obj, axis=1)
        o = obj[np.arange(n), j]
        better = o < best_obj
        best_obj = np.where(better, o, best_obj)
        best_cyc = np.where(better, total.reshape(n, -1)[np.arange(n), j], best_cyc)
        best_e = np.where(better, energy.reshape(n, -1)[np.arange(n), j], best_e)
    return best_cyc, best_e


def _vector_many(elements: int, cpe: float, reads, write, v: _Vec) -> tuple[np.ndarray, np.ndarray]:
    lanes = v.lanes * v.cores
    compute = np.ceil(elements / lanes) * cpe
    moved = {"local": 0.0, "glb": 0.0, "dram": 0.0}
    for bits, home in [*reads, write]:
        moved[home] += bits
    glb_bits = moved["glb"] + moved["dram"]
    local_bits = sum(b for b, _ in reads) + write[0]
    cycles = np.maximum.reduce([compute, np.full_like(compute, glb_bits / v.bw_glb),
                                np.full_like(compute, moved["dram"] / v.bw_dram), local_bits / (v.bw_local * v.cores)])
    energy = (elements * cpe * v.e_lane + local_bits * v.e_local + glb_bits * v.e_glb + moved["dram"] * v.e_dram
              + v.leak_w * cycles / v.clock_hz)
    return cycles, energy


def _group(graphs: Sequence[ir.Graph], hws: Sequence[Hardware], cs: Sequence[HwConsts], target: str):
    v = _Vec(cs)
    n = len(cs)
    cycles = np.zeros(n)
    energy = np.zeros(n)
    for graph in graphs:
        homes = tensor_homes(graph, cs[0])
        fused = fusable_inputs(graph)
        for op, k in graph.weighted_ops():
            loc = tuple("local" if (op.name, a.tensor) in fused else homes[a.tensor] for a in op.inputs)
            if ir.is_contraction(op):
                res = (loc[0] in ("glb", "local"), loc[1] in ("glb", "local"), homes[op.output.tensor] == "glb")
                cy, en = _gemm_many(as_gemm(op), v, res, target)
            elif op.kind.category == "movement":
                t = graph.tensors[op.output.tensor]
                mc = movement_cost(op.kind.value, t.numel * v.bits_a, loc[0] if loc else "dram",
                                   homes[op.output.tensor], cs[0])
                cy = np.full(n, mc.cycles)
                en = mc.energy_j - mc.energy_by_component_j["leakage"] + v.leak_w * cy / v.clock_hz
            else:
                reads = [(graph.tensors[a.tensor].numel * v.bits_a, h) for a, h in zip(op.inputs, loc)]
                write = (graph.tensors[op.output.tensor].numel * v.bits_a, homes[op.output.tensor])
                fn = op.fn or op.kind.value
                cy, en = _vector_many(op.iterations, hws[0].vector_unit.cycles(fn), reads, write, v)
            cycles += k * cy
            energy += k * en
    return cycles / v.clock_hz, energy


def sweep(graphs: ir.Graph | Iterable[ir.Graph], hardware: Sequence[Hardware], target: str = "edp") -> SweepResult:
    """Per-configuration latency_s, energy_j (leakage included; graphs summed, e.g. both CLIP towers), area_mm2."""
    if target not in TARGETS:
        raise BackendError(f"unknown target {target!r} (allowed: {', '.join(TARGETS)})")
    gs = [graphs] if isinstance(graphs, ir.Graph) else list(graphs)
    hws = list(hardware)
    n = len(hws)
    areas = [area_parts(h) for h in hws]
    cs = [consts_of(h, a) for h, a in zip(hws, areas)]
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cs):
        key = _group_key(c) + (tuple(sorted(hws[i].vector_unit.cycles_per_element.items())),)
        groups.setdefault(key, []).append(i)
    lat = np.zeros(n)
    en = np.zeros(n)
    for idx in groups.values():
        l, e = _group(gs, [hws[i] for i in idx], [cs[i] for i in idx], target)
        lat[idx] = l
        en[idx] = e
    feasible = np.isfinite(lat)
    return SweepResult(latency_s=lat, energy_j=np.where(feasible, en, math.inf),
                       area_mm2=np.array([sum(a.values()) for a in areas]), feasible=feasible,
                       leakage_power_w=np.array([c.leak_w for c in cs]),
                       peak_tops=np.array([h.peak_tops for h in hws]))
