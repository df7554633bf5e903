"""Fused attention (``ir`` op kind ``attention``) scheduled FLAT/FlashAttention-style, with the same cost equation.

For every query-head batch the fused op walks query blocks of ``Bq`` rows (outer loop) and key blocks of ``Bk``
rows (inner loop). Per block pair the array computes ``S = Q_blk K_blk^T`` (Bq x d x Bk) and ``O += P V_blk``
(Bq x Bk x dv); the vector unit turns S into P with an online softmax (running max and sum, ``softmax``'s cycles
per element) and rescales the O accumulator (one cycle per element). The scores never leave the innermost per-core
level: it holds a Q block, two K and two V blocks (the next pair loads while this one computes), the S block and the
O accumulator at accumulator width, and the running max and sum. K and V are re-read once per query block (the
IO of FlashAttention); Q is read and O written once. With a causal mask, key blocks past the diagonal are skipped.
A mask or bias that is real data is read once per block pair.

The schedule space: the core split (over query-head batches or query rows), ``Bq`` and ``Bk`` from the tile
candidates of ``tiling`` (trip counts that are powers of two, small divisors, or the whole), and for each block
GEMM the dataflow with the fewest compute cycles. Each candidate is priced by ``cost.schedule_cost`` -- array and
vector traffic at the innermost per-core level, that level's fills from its parent, the per-chip level's fills from
DRAM (K and V once when a head's K and V fit in half of it, else streamed per query block) -- and the best per
configuration kept. When no block fits, ``best_fused`` reports infeasible and ``estimate`` falls back to the
unfused ops (``ir.unfused_graph``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import ir

from . import systolic, tiling
from .cost import Ports, objective, schedule_cost
from .costs import DRAM, HwConsts

ROLES = ("q", "kv", "d", "dv")


@dataclass(frozen=True)
class AttentionShape:
    heads: int        # query-head batches: every batch-like dim and the query heads per KV head
    q: int
    kv: int
    d: int
    dv: int
    causal: bool
    masks: int        # mask or bias inputs that are real data (read once per block pair)

    @classmethod
    def of(cls, op: ir.Op) -> "AttentionShape":
        dims = dict(op.dims)
        heads = math.prod(v for k, v in dims.items() if k not in ROLES)
        return cls(heads, dims.get("q", 1), dims.get("kv", 1), dims.get("d", 1), dims.get("dv", 1),
                   bool(op.attrs.get("causal", False)), max(0, len(op.inputs) - 3))

    @property
    def macs(self) -> int:
        return self.heads * self.q * self.kv * (self.d + self.dv)


def _tiles(size: int) -> np.ndarray:
    return np.unique(-(-size // tiling.trip_candidates(size)))


def _pairs(q1: int, bq: np.ndarray, kv: int, bk: np.ndarray, causal: bool) -> np.ndarray:
    """Block pairs each query-head batch computes (key blocks past the diagonal skipped when causal)."""
    nq, nk = -(-q1 // bq), -(-kv // bk)
    if not causal:
        return nq * nk
    out = np.zeros(np.broadcast(bq, bk).shape)
    for i in range(int(np.max(nq))):
        live = i < nq
        out = out + np.where(live, np.minimum(nk, -(-np.minimum((i + 1) * bq, kv) // bk)), 0)
    return out


def _candidates(s: AttentionShape, cores: int) -> list[tuple[str, int, int, np.ndarray, np.ndarray]]:
    """(split, heads per core, query rows per core, Bq, Bk) over the block grid."""
    out = []
    splits = [("none", s.heads, s.q)] if cores == 1 else \
        [(n, h, q) for n, h, q in (("heads", -(-s.heads // cores), s.q), ("q", s.heads, -(-s.q // cores)))
         if (n == "heads" and s.heads > 1) or (n == "q" and s.q > 1)] or [("heads", -(-s.heads // cores), s.q)]
    for split, h1, q1 in splits:
        bq, bk = np.meshgrid(_tiles(q1), _tiles(s.kv), indexing="ij")
        out.append((split, h1, q1, bq.reshape(-1), bk.reshape(-1)))
    return out


def _level(c: HwConsts) -> int:
    """The level that keeps the blocks: the innermost per-core level, else the innermost tiled one."""
    i = c.innermost("per_core")
    return i if i >= 0 else next(j for j, lv in enumerate(c.levels) if lv.sharing != "per_pe")


def _fits(c: HwConsts, j: int, s: AttentionShape, bq, bk) -> np.ndarray:
    lv = c.levels[j]
    q_t = bq * s.d * c.bits_a
    kv_t = 2 * bk * (s.d + s.dv) * c.bits_b
    acc = (bq * bk + bq * s.dv + 2 * bq) * c.bits_acc
    if lv.split:
        return (q_t <= lv.cap_bits) & (kv_t <= lv.cap_bits) & (acc <= lv.cap_bits)
    return q_t + kv_t + acc <= lv.cap_bits


def _block_gemm(c: HwConsts, rows, cols, m, k, n, bits):
    """Per configuration (rows, cols: (C, 1)) and candidate (m, k, n: (1, N)): the fewest compute cycles over the
    dataflows, and that dataflow's (A down, B down, C down, C up) bits and index."""
    best = None
    for i, df in enumerate(c.dataflows):
        cc = systolic.compute_cycles(df, m, k, n, rows, cols, 1, 1, 1, False, c.pipeline)
        tr = systolic.operand_traffic(df, m, k, n, rows, cols, bits)
        cc = np.broadcast_to(cc, np.broadcast(cc, m).shape).astype(np.float64)
        if best is None:
            best = [cc, [np.broadcast_to(x, cc.shape).astype(np.float64) for x in tr], np.zeros(cc.shape, int)]
            continue
        better = cc < best[0]
        best[0] = np.where(better, cc, best[0])
        best[1] = [np.where(better, x, y) for x, y in zip(tr, best[1])]
        best[2] = np.where(better, i, best[2])
    return best


def _price(c: HwConsts, k2: Ports, s: AttentionShape, homes: Sequence[str], split, h1, q1, bq, bk, rows, cols,
           lanes, softmax_cycles: float, detail: bool = False):
    """Cycles and energy of block schedules (candidates ``bq``, ``bk``: (1, N)) on configurations (C, 1), by
    ``cost.schedule_cost``; with ``detail`` (one candidate) the priced State, its vector energy and facts."""
    nl = len(c.levels)
    j = _level(c)
    par = c.levels[j].parent[0]
    par = nl if par in (None, DRAM) else par
    pairs = _pairs(q1, bq, s.kv, bk, s.causal) * h1                          # block pairs per core
    bits = (c.bits_a, c.bits_b, c.bits_acc, c.bits_acc)
    cc_qk, tr_qk, df_qk = _block_gemm(c, rows, cols, bq, s.d, bk, bits)
    cc_pv, tr_pv, df_pv = _block_gemm(c, rows, cols, bq, bk, s.dv, bits)
    vec = np.ceil(bq * bk / lanes) * softmax_cycles + np.ceil(bq * s.dv / lanes)
    compute = pairs * (cc_qk + cc_pv + vec)
    # the blocks' traffic at the level that keeps them (chip totals): the array's reads and writes of both block
    # GEMMs, the vector unit reading S and writing P, and rescaling the O accumulator
    reads = c.cores * pairs * (tr_qk[0] + tr_qk[1] + tr_qk[2] + tr_pv[0] + tr_pv[1] + tr_pv[2]
                               + bq * bk * c.bits_acc + bq * s.dv * c.bits_acc)
    writes = c.cores * pairs * (tr_qk[3] + tr_pv[3] + bq * bk * c.bits_a + bq * s.dv * c.bits_acc)
    array_rw = [(0.0, 0.0)] * (nl + 1)
    array_rw[j] = (reads, writes)
    q_bits = c.cores * h1 * q1 * s.d * c.bits_a
    o_bits = c.cores * h1 * q1 * s.dv * c.bits_out
    kv_bits = c.cores * pairs * bk * (s.d + s.dv) * c.bits_b
    mask_bits = c.cores * pairs * bq * bk * c.bits_a * s.masks
    fills = [None if lv.sharing == "per_pe" else {} for lv in c.levels]
    edges = [None if lv.sharing == "per_pe" else {} for lv in c.levels]
    db = [False] * nl
    src = DRAM if par == nl else par
    fills[j] = {src: (q_bits + kv_bits + mask_bits, o_bits)}
    edges[j] = {src: (c.cores * (bq * s.d * c.bits_a + bk * (s.d + s.dv) * c.bits_b), c.cores * bq * s.dv * c.bits_out)}
    db[j] = True
    if par < nl:                                   # the per-chip level's own fills from DRAM
        resident = homes[1] == "glb" and homes[2] == "glb"
        fits_once = c.cores * s.kv * (s.d + s.dv) * c.bits_b <= c.levels[par].cap_bits / 2
        kv_dram = 0.0 if resident else (s.heads * s.kv * (s.d + s.dv) * c.bits_b if fits_once else kv_bits)
        q_dram = 0.0 if homes[0] == "glb" else s.heads * s.q * s.d * c.bits_a
        o_dram = 0.0 if homes[-1] == "glb" else s.heads * s.q * s.dv * c.bits_out
        m_dram = 0.0 if s.masks == 0 or all(h == "glb" for h in homes[3:-1]) else mask_bits
        fills[par] = {DRAM: (q_dram + kv_dram + m_dram + 0.0 * bq, o_dram + 0.0 * bq)}
        db[par] = True
    performed = c.cores * pairs * bq * bk * (s.d + s.dv)                     # causal: skipped blocks do no MACs
    vec_j = c.cores * pairs * (bq * bk * softmax_cycles + bq * s.dv) * k2.e_lane
    if detail:
        st = schedule_cost(k2, performed, compute, array_rw, fills, edges, db, [lv.name for lv in c.levels],
                           detail=True)
        facts = {"split": split, "heads_per_core": h1, "q_per_core": q1, "block_q": int(bq.flat[0]),
                 "block_kv": int(bk.flat[0]), "pairs_per_core": float(np.asarray(pairs).flat[0]),
                 "dataflow_qk": c.dataflows[int(np.asarray(df_qk).flat[0])],
                 "dataflow_pv": c.dataflows[int(np.asarray(df_pv).flat[0])], "level": c.levels[j].name,
                 "causal": s.causal, "kv_bytes_streamed": float(np.asarray(kv_bits).flat[0]) / 8,
                 "macs_performed": float(np.asarray(performed).flat[0])}
        return st, vec_j, facts
    cyc, energy = schedule_cost(k2, performed, compute, array_rw, fills, edges, db)
    return cyc, energy + vec_j


def fused_cost(op: ir.Op, cs: Sequence[HwConsts], ports: Ports, homes: Sequence[str], target: str,
               softmax_cycles: float, detail: bool = False):
    """Best fused schedule per configuration: (cycles (C,), energy (C,), best candidate of configuration 0).
    ``homes``: where Q, K, V (then masks) and the output live ("glb", "dram" or "local"); cycles are infinite where
    no block fits."""
    s = AttentionShape.of(op)
    c = cs[0]
    ncfg = len(cs)
    j = _level(c)
    rows = np.array([x.rows for x in cs])[:, None]
    cols = np.array([x.cols for x in cs])[:, None]
    lanes = np.array([x.lanes for x in cs], dtype=np.float64)[:, None] * c.cores
    k2 = ports.take(np.arange(ncfg), 2)
    best_obj = np.full(ncfg, np.inf)
    cycles, energy_out = np.full(ncfg, np.inf), np.full(ncfg, np.inf)
    choice = None
    for split, h1, q1, bq, bk in _candidates(s, c.cores):
        ok = _fits(c, j, s, bq, bk)
        if not ok.any():
            continue
        bq, bk = bq[ok][None, :], bk[ok][None, :]
        cyc, energy = _price(c, k2, s, homes, split, h1, q1, bq, bk, rows, cols, lanes, softmax_cycles)
        cyc = np.broadcast_to(cyc, (ncfg, bq.shape[1]))
        energy = np.broadcast_to(energy, cyc.shape)
        obj = objective(target, cyc, energy)
        i = np.argmin(obj, axis=1)
        o = obj[np.arange(ncfg), i]
        better = o < best_obj
        best_obj = np.where(better, o, best_obj)
        cycles = np.where(better, cyc[np.arange(ncfg), i], cycles)
        energy_out = np.where(better, energy[np.arange(ncfg), i], energy_out)
        if better[0]:
            choice = (split, h1, q1, int(bq[0, i[0]]), int(bk[0, i[0]]))
    if not detail:
        return cycles, energy_out, None
    if choice is None:
        return cycles, energy_out, None
    split, h1, q1, bq, bk = choice
    st, vec_j, facts = _price(c, ports.take(np.zeros(1, int), 2), s, homes, split, h1, q1, np.array([[bq]]),
                              np.array([[bk]]), rows[:1], cols[:1], lanes[:1], softmax_cycles, detail=True)
    return cycles, energy_out, (st, float(np.asarray(vec_j).flat[0]), facts)


def loop_nest(d: dict[str, Any]) -> list[str]:
    """The fused schedule as a loop nest, outermost first."""
    return [f"# fused attention on {d['level']}: blocks of {d['block_q']} queries x {d['block_kv']} keys"
            f"{' (causal: key blocks past the diagonal skipped)' if d['causal'] else ''}; "
            f"K and V stream {d['kv_bytes_streamed'] / 1e6:.3f} MB",
            f"parallel-for core in cores (split {d['split']}): {d['heads_per_core']} head batches, "
            f"{d['q_per_core']} queries each",
            f"  for qb in range(ceil({d['q_per_core']} / {d['block_q']})):   # load Q block; O accumulator = 0",
            "    for kb in key blocks up to the diagonal:   # load K, V blocks (the next pair loads meanwhile)"
            if d["causal"] else
            f"    for kb in range(ceil(kv / {d['block_kv']})):   # load K, V blocks (the next pair loads meanwhile)",
            f"      S = Q K^T on the array ({d['dataflow_qk'].upper()})",
            "      online softmax on the vector unit: running max and sum, P = exp(S - max), rescale O",
            f"      O += P V on the array ({d['dataflow_pv'].upper()})",
            "    O /= sum; write O block"]


__all__ = ["AttentionShape", "fused_cost", "loop_nest"]
