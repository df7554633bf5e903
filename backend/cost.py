"""The one cost equation of a contraction schedule: cycles and energy from traffic at every memory level.

Used by the exact mapper (``mapper.py``) for one design and by the sweep (``sweep.py``) for many at once: every
argument broadcasts (configurations x candidates). The equation is written as a fold over the memory levels, from
the PEs outward (``start``, then ``level`` for each level, then ``finish``), so the mapper can bound a partial
schedule after any level with the same arithmetic; ``schedule_cost`` is the whole fold.

Traffic comes in bits, as chip totals. Level ``j`` (on-chip levels from the PEs outward, then DRAM) sees reads
``R_j`` and writes ``W_j``: what the array and the per-PE level move there directly, plus, for every tiled level
``l`` filled from ``p``, ``l``'s fills (read at ``p``, written at ``l``) and drains (read at ``l``, written at
``p``). Per instance the port takes ``(R + W) / bw`` (one shared port) or ``max(R / bw_read, W / bw_write)``.
Cycles:

    t = compute
    for each on-chip level l, inner to outer:
        t = max(t, port_l)
        if l is tiled: t = max(t, fill_l) if double-buffered else t + fill_l   (fill_l: the port time its own
                                                                                 transfers take at its parents)
    t = max(t, port_dram) + sum of first fills and last drains (each at its parent's bandwidth)

Energy: MACs x (MAC + pipeline registers) + every level's (R + W) x its energy per bit + DRAM's + leakage x time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .costs import DRAM, HwConsts


class Ports:
    """Per-configuration constants of every level and DRAM (index ``len(levels)``): instances ``n``, bandwidths
    ``rbw``/``wbw`` (bits/cycle per instance), energy per bit ``e_bit``, capacity ``cap`` (bits per instance; DRAM:
    inf), and MAC, pipeline-register, leakage, clock, vector-lane and array-shape constants. Held as one matrix
    (one row per constant, one column per configuration); ``take`` selects configurations without copying, and a
    constant's row is gathered only when first read, as a view shaped (C, 1, ..., 1)."""

    SCALARS = ("e_mac", "e_reg", "leak_w", "clock_hz", "lanes", "e_lane", "rows", "cols")
    BLOCKS = 5             # per-level blocks of rows: n, rbw, wbw, e_bit, cap

    def __init__(self, matrix: np.ndarray, shared: list[bool], cores: int, ndim: int = 1,
                 idx: np.ndarray | None = None):
        self.matrix, self.shared, self.cores, self.ndim, self.idx = matrix, shared, cores, ndim, idx
        nj = len(shared)
        self._cache: dict[int, np.ndarray] = {}
        self.n, self.rbw, self.wbw, self.e_bit, self.cap = (_Rows(self, i * nj, nj) for i in range(self.BLOCKS))

    def row(self, r: int) -> np.ndarray:
        """Constant ``r`` (a row of the matrix) of the selected configurations."""
        v = self._cache.get(r)
        if v is None:
            v = self.matrix[r] if self.idx is None else self.matrix[r].take(self.idx)
            if self.ndim > 1:
                v = v.reshape((-1,) + (1,) * (self.ndim - 1))
            self._cache[r] = v
        return v

    def __getattr__(self, name: str):
        if name in Ports.SCALARS:
            return self.row(self.BLOCKS * len(self.shared) + Ports.SCALARS.index(name))
        raise AttributeError(name)

    @property
    def size(self) -> int:
        return self.matrix.shape[1] if self.idx is None else self.idx.size

    @classmethod
    def of(cls, cs: Sequence[HwConsts], ndim: int = 1) -> "Ports":
        """From one or more configurations of the same structure."""
        c0 = cs[0]
        rows = []
        for c in cs:
            lv = c.levels
            rows.append([x.instances for x in lv] + [1.0] + [x.read_bw for x in lv] + [c.dram_bw]
                        + [x.write_bw for x in lv] + [c.dram_bw] + [x.e_bit for x in lv] + [c.e_dram]
                        + [x.cap_bits for x in lv] + [math.inf]
                        + [c.e_mac, c.e_reg_per_mac, c.leak_w, c.clock_hz, c.lanes, c.e_lane, c.rows, c.cols])
        return cls(np.asarray(rows, dtype=np.float64).T.copy(), [x.shared_port for x in c0.levels] + [True],
                   c0.cores, ndim)

    def take(self, idx: np.ndarray, ndim: int) -> "Ports":
        """The constants of configurations ``idx`` (one column per entry), shaped for ``ndim`` axes."""
        idx = np.asarray(idx)
        return Ports(self.matrix, self.shared, self.cores, ndim, idx if self.idx is None else self.idx[idx])

    def shaped(self, ndim: int) -> "Ports":
        """The same configurations, constants shaped for ``ndim`` axes."""
        return Ports(self.matrix, self.shared, self.cores, ndim, self.idx)

    def port_time(self, j: int, reads, writes):
        """Cycles the port of one instance of level ``j`` needs for these per-instance reads and writes."""
        if self.shared[j]:
            return (reads + writes) / self.rbw[j]
        return np.maximum(reads / self.rbw[j], writes / self.wbw[j])

    def edge_time(self, j: int, first_fill, last_drain):
        """A first fill and a last drain happen at different times: their port times add."""
        return first_fill / self.rbw[j] + last_drain / self.wbw[j]


class _Rows:
    """One per-level constant of a ``Ports`` (``ports.n[j]``), its rows gathered on first use."""

    __slots__ = ("ports", "base", "count")

    def __init__(self, ports: Ports, base: int, count: int):
        self.ports, self.base, self.count = ports, base, count

    def __getitem__(self, j: int) -> np.ndarray:
        return self.ports.row(self.base + j)

    def __len__(self) -> int:
        return self.count


@dataclass
class State:
    """A schedule priced up to some level: cycles so far, energy so far, first fills + last drains so far, and the
    reads and writes every level and DRAM has received (complete for the levels already closed)."""

    t: Any
    energy: Any
    edge: Any
    reads: list
    writes: list
    terms: dict = field(default_factory=dict)      # cycles by term (only with detail)

    def take(self, idx, start: int = 0) -> "State":
        """The partial schedules at positions ``idx`` (fields one-dimensional or scalar); the reads and writes of
        levels before ``start`` (closed, read no more) are dropped (None)."""
        def pick(f):
            return f[idx] if np.ndim(f) else f
        nj = len(self.reads)
        return State(pick(self.t), pick(self.energy), pick(self.edge),
                     [None if j < start else pick(self.reads[j]) for j in range(nj)],
                     [None if j < start else pick(self.writes[j]) for j in range(nj)], dict(self.terms))


def start(k: Ports, macs, compute, array_rw: Sequence[tuple[Any, Any]]) -> State:
    """The array's part: compute cycles, MAC energy, and what the array and the per-PE level move at each level."""
    return State(t=compute, energy=macs * (k.e_mac + k.e_reg), edge=0.0,
                 reads=[r for r, _ in array_rw], writes=[w for _, w in array_rw], terms={"compute": compute})


def level(k: Ports, s: State, j: int, fills: dict[int, tuple[Any, Any]] | None = None,
          edges: dict[int, tuple[Any, Any]] | None = None, db: Any = False, name: str = "") -> State:
    """Close on-chip level ``j``: add its own fills and drains (``fills[parent] = (fill bits, drain bits)``, None
    for the per-PE level, whose loading is part of compute), take its port, overlap or serialise its fills."""
    nl = len(k.n) - 1
    reads, writes = list(s.reads), list(s.writes)
    fill_time = None
    for p, (down, up) in (fills or {}).items():
        p = nl if p == DRAM else p
        writes[j] = writes[j] + down
        reads[j] = reads[j] + up
        reads[p] = reads[p] + down
        writes[p] = writes[p] + up
        ft = k.port_time(p, down / k.n[p], up / k.n[p])
        fill_time = ft if fill_time is None else np.maximum(fill_time, ft)
    port = k.port_time(j, reads[j] / k.n[j], writes[j] / k.n[j])
    t = np.maximum(s.t, port)
    if fill_time is not None:
        t = np.where(db, np.maximum(t, fill_time), t + fill_time)
    edge = s.edge
    for p, (first, last) in (edges or {}).items():
        p = nl if p == DRAM else p
        edge = edge + k.edge_time(p, first / k.n[p], last / k.n[p])
    energy = s.energy + (reads[j] + writes[j]) * k.e_bit[j]
    terms = dict(s.terms)
    if terms:
        terms[name or f"level {j}"] = port
        if fill_time is not None:
            terms[f"{name or j} fills"] = fill_time
    return State(t, energy, edge, reads, writes, terms)


def finish(k: Ports, s: State) -> State:
    """DRAM's port, first fills and last drains, DRAM energy and leakage: the complete schedule."""
    nl = len(k.n) - 1
    port = k.port_time(nl, s.reads[nl], s.writes[nl])
    t = np.maximum(s.t, port) + s.edge
    energy = s.energy + (s.reads[nl] + s.writes[nl]) * k.e_bit[nl] + leakage_j(k.leak_w, t, k.clock_hz)
    terms = dict(s.terms)
    if terms:
        terms["dram"] = port
        terms["first fill + last drain"] = s.edge
    return State(t, energy, s.edge, s.reads, s.writes, terms)


def schedule_cost(k: Ports, macs, compute, array_rw: Sequence[tuple[Any, Any]],
                  fills: Sequence[dict[int, tuple[Any, Any]] | None],
                  edges: Sequence[dict[int, tuple[Any, Any]] | None], db: Sequence[Any], names: Sequence[str] = (),
                  detail: bool = False):
    """Cycles and energy (J) of schedules: the whole fold. ``array_rw[j]``: (reads, writes) at level j from the
    array and the per-PE level; ``fills[l]``: {parent: (fill bits, drain bits)} of tiled level l (None for the
    per-PE level); ``edges[l]``: {parent: (first fill bits, last drain bits)}; ``db[l]``: double-buffered.
    With ``detail``, the final State (its ``terms`` hold cycles by term)."""
    s = start(k, macs, compute, array_rw)
    if not detail:
        s.terms = {}
    for j, (f, e, d) in enumerate(zip(fills, edges, db)):
        s = level(k, s, j, f, e, d, names[j] if names else "")
    s = finish(k, s)
    return s if detail else (s.t, s.energy)


def leakage_j(leak_w, cycles, clock_hz):
    """Leakage energy over ``cycles`` (an impossible schedule's infinite cycles give a huge finite value, never
    NaN at 0 W; its infinite cycles already make it lose)."""
    return leak_w * np.minimum(cycles, 1e300) / clock_hz


def objective(target: str, cycles, energy):
    if target == "latency":
        return cycles + energy * 1e-30          # ties go to the lower energy
    if target == "energy":
        return energy + cycles * 1e-30
    if target == "edp":
        return cycles * energy
    raise ValueError(f"unknown target {target!r} (allowed: latency, energy, edp)")
