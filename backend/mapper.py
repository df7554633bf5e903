"""The exact GEMM mapper: chooses core split, dataflow, and tile + loop order at the local and global buffer.

The cost of one schedule is ``schedule_cost`` (pure, numpy-broadcastable). The search enumerates every core
split and dataflow, and for each buffer level every (tile, order) candidate of ``tiling.level_table`` that fits
(double-buffered or not). It prunes only candidates dominated in (traffic, first fill + last drain), which
cannot win because cost is non-decreasing in both; ``tests/backend/test_mapper.py`` checks the optimum against
brute force over the unpruned space.

Levels are tiled independently over the whole problem: the local buffer's fills are what its own loop nest
fetches from the global buffer, and the global buffer's fills what its loop nest fetches from DRAM.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import systolic, tiling
from .contraction import Gemm
from .costs import HwConsts

TARGETS = ("latency", "energy", "edp")
COMPONENTS = ("mac", "vector", "register_file", "local_buffer", "global_buffer", "dram", "leakage")


@dataclass
class OpCost:
    """Cost of one execution of an op: cycles, energy by component (J), the schedule chosen and what bounds it."""

    cycles: float
    energy_by_component_j: dict[str, float]
    schedule: dict[str, Any] = field(default_factory=dict)
    feasible: bool = True

    @property
    def energy_j(self) -> float:
        return sum(self.energy_by_component_j.values())


def schedule_cost(c: HwConsts, macs, cc, port, tl, el, db_l, td, ed, db_d):
    """Cycles and energy components of schedules (all args broadcastable arrays; per-core values for the local
    level: compute cycles ``cc``, array<->local bits ``port``, local fill bits ``tl`` and first-fill ``el``;
    ``td``/``ed`` for the global buffer's DRAM traffic). Returns (cycles, parts, terms)."""
    t_port = (port + tl) / c.bw_local
    s_l = c.cores * tl / c.bw_glb
    base = np.maximum(cc, t_port)
    inner = np.where(db_l, np.maximum(base, s_l), base + s_l)
    s_d = td / c.bw_dram
    total = np.where(db_d, np.maximum(inner, s_d), inner + s_d)
    g_port = (c.cores * tl + td) / c.bw_glb
    total = np.maximum(total, g_port)
    total = total + c.cores * el / c.bw_glb + ed / c.bw_dram
    parts = {
        "mac": macs * c.e_mac,
        "register_file": macs * c.e_reg_per_mac,
        "local_buffer": c.cores * (port + tl) * c.e_local,
        "global_buffer": (c.cores * tl + td) * c.e_glb,
        "dram": td * c.e_dram,
        "leakage": c.leak_w * total / c.clock_hz,
    }
    terms = {"compute": cc, "local_buffer": t_port, "global_buffer": np.maximum(s_l, g_port), "dram": s_d}
    return total, parts, terms


def _at(v, shape: tuple[int, ...], i: int, j: int) -> float:
    """Element (i, j) of ``v`` broadcast to ``shape``."""
    return float(np.broadcast_to(v, shape)[i, j])


def objective(target: str, cycles, energy):
    if target == "latency":
        return cycles + energy * 1e-30          # ties go to the lower energy
    if target == "energy":
        return energy + cycles * 1e-30
    if target == "edp":
        return cycles * energy
    raise ValueError(f"unknown target {target!r} (allowed: {TARGETS})")


def splits(g: Gemm, cores: int) -> list[tuple[str, int, int, int]]:
    """(dim, b, m, n) per core for every way to spread the GEMM over the cores (batch, M or N)."""
    if cores == 1:
        return [("none", g.b, g.m, g.n)]
    out = [("b", -(-g.b // cores), g.m, g.n), ("m", g.b, -(-g.m // cores), g.n), ("n", g.b, g.m, -(-g.n // cores))]
    sizes = {"b": g.b, "m": g.m, "n": g.n}
    keep = [s for s in out if sizes[s[0]] > 1]
    return keep or out[:1]


def _fronts(table: tiling.LevelTable, capacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates worth evaluating at one level: the double-buffered front, plus single-buffered front points
    that no double-buffered point matches in both traffic and edge (overlapping transfers is never slower)."""
    db = tiling.front(table, capacity, 2)
    sb = tiling.front(table, capacity, 1)
    if db.size and sb.size:
        t_db, e_db = table.traffic_bits[db], table.edge_bits[db]
        t_sb, e_sb = table.traffic_bits[sb], table.edge_bits[sb]
        # db is sorted by traffic with strictly falling edge: the cheapest-edge db point with traffic <= t_sb
        pos = np.searchsorted(t_db, t_sb, side="right") - 1
        covered = (pos >= 0) & (e_db[np.maximum(pos, 0)] <= e_sb)
        sb = sb[~covered]
    idx = np.concatenate((db, sb))
    flag = np.concatenate((np.ones(db.size, bool), np.zeros(sb.size, bool)))
    return idx, flag


@functools.lru_cache(maxsize=16384)
def level_fronts(m: int, k: int, n: int, bits: tuple[int, int, int, int], weights: tuple[int, int, int],
                 capacity: float) -> tuple[tiling.LevelTable, np.ndarray, np.ndarray]:
    """The level table of an m x k x n problem and its candidates worth evaluating under ``capacity`` bits."""
    t = tiling.level_table(m, k, n, *bits, weights)
    idx, flag = _fronts(t, capacity)
    return t, idx, flag


def map_gemm(g: Gemm, c: HwConsts, resident: tuple[bool, bool, bool] = (False, False, False),
             target: str = "edp") -> OpCost:
    """Best schedule of a GEMM under ``target``; ``resident`` says which of A, B, C live in the global buffer."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (allowed: {TARGETS})")
    ba, bb, bo, bacc = c.bits_a, c.bits_b, c.bits_a, c.bits_acc
    sizes = (g.m * g.k * ba, g.k * g.n * bb, g.m * g.n * bo)
    res = tuple(bool(r) for r in resident)
    res_bits = g.b * sum(s for s, r in zip(sizes, res) if r)
    if res_bits > c.glb_bits / 2:              # resident operands must leave room for tiles
        res, res_bits = (False, False, False), 0
    weights = tuple(0 if r else 1 for r in res)
    bits = (ba, bb, bo, bacc)
    ot, o_idx, o_db = level_fronts(g.m, g.k, g.n, bits, weights, c.glb_bits - res_bits)
    best = None
    for split, b1, m1, n1 in splits(g, c.cores):
        lt, l_idx, l_db = level_fronts(m1, g.k, n1, bits, (1, 1, 1), c.local_bits)
        if l_idx.size == 0 or o_idx.size == 0:
            continue
        for df in c.dataflows:
            cc = systolic.compute_cycles(df, m1, g.k, n1, c.rows, c.cols, b1)
            port = systolic.array_traffic_bits(df, m1, g.k, n1, c.rows, c.cols, ba, bb, bo, bacc, b1)
            L = (slice(None), None)
            cyc, parts, terms = schedule_cost(
                c, g.macs, cc, port, b1 * lt.traffic_bits[l_idx][L], lt.edge_bits[l_idx][L], l_db[L],
                g.b * ot.traffic_bits[o_idx][None, :], ot.edge_bits[o_idx][None, :], o_db[None, :])
            energy = sum(parts.values())
            obj = objective(target, cyc, energy)
            i, j = np.unravel_index(int(np.argmin(obj)), obj.shape)
            if best is None or obj[i, j] < best[0]:
                sh = obj.shape
                best = (float(obj[i, j]), split, df, (b1, m1, n1), lt, int(l_idx[i]), bool(l_db[i]),
                        int(o_idx[j]), bool(o_db[j]), float(cyc[i, j]),
                        {k: _at(v, sh, i, j) for k, v in parts.items()},
                        {k: _at(v, sh, i, j) for k, v in terms.items()})
    if best is None:
        return OpCost(math.inf, {k: 0.0 for k in COMPONENTS}, {"infeasible": _why_infeasible(g, c)}, False)
    _, split, df, (b1, m1, n1), lt, li, ldb, oi, odb, cyc, parts, terms = best
    parts = {k: parts.get(k, 0.0) for k in COMPONENTS}
    bound = max(terms, key=terms.get)
    util = g.macs / (cyc * c.cores * c.rows * c.cols) if cyc > 0 else 0.0
    rows_dim, cols_dim, stream = systolic.spatial(df)
    sched = {
        "dataflow": df, "spatial": {"rows": rows_dim, "cols": cols_dim, "streamed": stream, "cores": split},
        "per_core": {"b": b1, "m": m1, "k": g.k, "n": n1},
        "gemm": {"b": g.b, "m": g.m, "k": g.k, "n": g.n}, "dims": dict(g.classes),
        "local_buffer": _level(lt, li, ldb, b1), "global_buffer": _level(ot, oi, odb, g.b),
        "resident": dict(zip("ABC", res)), "utilisation": util, "bound": bound,
        "cycles_by_term": terms, "target": target,
    }
    return OpCost(cyc, parts, sched)


def _level(t: tiling.LevelTable, i: int, db: bool, batch: int) -> dict[str, Any]:
    order = [tiling.DIM[d] for d in tiling.ORDERS[int(t.order[i])]]
    return {"tile": dict(zip(tiling.DIM, (int(x) for x in t.tiles[i]))),
            "trips": dict(zip(tiling.DIM, (int(x) for x in t.trips[i]))),
            "loop_order": order, "double_buffered": db,
            "refetch": dict(zip("ABC", (int(x) for x in t.fetch_factor[i]))),
            "traffic_bytes": batch * float(t.traffic_bits[i]) / 8, "tile_bytes": float(t.cap_bits[i]) / 8}


def _why_infeasible(g: Gemm, c: HwConsts) -> str:
    one = c.bits_a + c.bits_b + c.bits_acc
    if one > c.local_bits:
        return (f"local buffer of {c.local_bits / 8:.0f} B cannot hold even a 1x1x1 tile ({one / 8:.0f} B)")
    return "no tile fits the global buffer next to the resident operands"
