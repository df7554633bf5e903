"""The exact GEMM mapper over an N-level memory hierarchy: core split, dataflow, per-PE reuse, and a tile, loop
order and buffering per tiled level.

A schedule is: how the GEMM spreads over the cores (batch, M or N), the dataflow of the systolic array, how many
stationary operands each PE keeps in the per-PE level (``systolic.py``), and for every per-core and per-chip level
a tile, a loop order and single or double buffering (``tiling.py``). Levels are tiled independently over the
problem one instance serves (the core's share for per-core levels, the whole GEMM for per-chip ones): a level's
fills are what its own loop nest fetches from its parent. ``cost.schedule_cost`` prices a schedule.

The search is exact over that space. Per level it drops only the candidates dominated in every quantity the cost
depends on (per parent: bits filled and drained, first fill and last drain) -- the cost is non-decreasing in each,
so they cannot win -- and per-PE expansions that only add padding for every configuration. Then, vectorised over
configurations: every core split is prepared (fronts, array stage, bounds from the terms of the same equation), a
greedy dive in each split gives every configuration an upper bound, and an exact branch and bound over the levels
in each split keeps only partial schedules whose bound can beat the best known. ``tests/backend/test_backend_mapper.py``
checks the optimum against brute force over the unpruned space with two, three and four levels.

``search`` evaluates many configurations of one structure at once (the sweep); ``map_gemm`` is the one-design
case and also returns the schedule.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import systolic, tiling
from .contraction import Gemm
from .cost import Ports, State, finish, leakage_j, level, objective, schedule_cost, start
from .costs import DRAM, HwConsts

TARGETS = ("latency", "energy", "edp")
OPERAND_NAMES = ("A", "B", "C")


def components(c: HwConsts) -> tuple[str, ...]:
    """Energy components of an estimate on this hardware."""
    return ("mac", "pipeline_registers", "vector", *(lv.name for lv in c.levels), "dram", "leakage")


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


def splits(g: Gemm, cores: int, mode: str = "dims", tiles: Sequence[int] = ()) -> list[tuple[str, int, int, int]]:
    """(how, b, m, n) per core for every way to spread the GEMM over the cores: "dims" splits batch, M or N evenly;
    "tiles" cuts the output into tiles of ``tiles`` rows and columns and deals them to the cores in waves (a core
    runs ``waves`` tiles one after another, so its problem is waves x tile; the last wave may leave cores idle)."""
    if mode == "tiles":
        out = {}
        for tm in sorted({min(t, g.m) for t in tiles}):
            for tn in sorted({min(t, g.n) for t in tiles}):
                count = g.b * -(-g.m // tm) * -(-g.n // tn)
                waves = -(-count // cores)
                out.setdefault((waves, tm, tn), (f"tiles {tm}x{tn}, {count} in {waves} waves", waves, tm, tn))
        return list(out.values())
    if cores == 1:
        return [("none", g.b, g.m, g.n)]
    out = [("b", -(-g.b // cores), g.m, g.n), ("m", g.b, -(-g.m // cores), g.n), ("n", g.b, g.m, -(-g.n // cores))]
    sizes = {"b": g.b, "m": g.m, "n": g.n}
    keep = [s for s in out if sizes[s[0]] > 1]
    return keep or out[:1]


# -- the array and the per-PE level -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayChoice:
    dataflow: str
    er: int = 1             # stationary operands per PE along the rows' dim
    ec: int = 1             # ... along the columns' dim
    double: bool = False    # the per-PE level holds two sets (loading hidden behind streaming)
    rf: bool = False        # the stationary operand sits in the per-PE level


def _pow2_upto(x: int) -> list[int]:
    out, e = [1], 2
    while e <= x:
        out.append(e)
        e *= 2
    return out


def array_choices(c: HwConsts, m: int, k: int, n: int, rows_min: int, cols_min: int) -> list[ArrayChoice]:
    """Dataflows, each alone and with every power-of-two per-PE expansion that fits the per-PE level. Expansions
    beyond the one that makes a single fold for the smallest array are dropped (they only add padding)."""
    out = []
    pe = c.pe_level
    for df in c.dataflows:
        out.append(ArrayChoice(df))
        x = systolic.STATIONARY[df]
        if pe < 0 or not c.levels[pe].holds[x]:
            continue
        lv = c.levels[pe]
        words = int(lv.cap_bits // _operand_bits(c)[x])
        pr, pc, _ = systolic.extents(df, m, k, n)
        er_max = min(words, 1 << max(0, math.ceil(math.log2(-(-pr // rows_min)))))
        ec_max = min(words, 1 << max(0, math.ceil(math.log2(-(-pc // cols_min)))))
        for er in _pow2_upto(er_max):
            for ec in _pow2_upto(ec_max):
                e = er * ec
                if e > words:
                    continue
                out.append(ArrayChoice(df, er, ec, lv.db and 2 * e <= words, True))
    return out


def _operand_bits(c: HwConsts) -> tuple[int, int, int]:
    """Bits of a stationary A, B and C word (C accumulates)."""
    return c.bits_a, c.bits_b, c.bits_acc


def array_stage(c: HwConsts, rows, cols, choices: Sequence[ArrayChoice], b1: int, m1: int, k: int, n1: int):
    """Compute cycles (C, A) and (reads, writes) (C, A) at every level and DRAM from the array and the per-PE level,
    as chip totals. ``rows``/``cols``: (C, 1) arrays of the configurations' array shapes."""
    nl = len(c.levels)
    bits = (c.bits_a, c.bits_b, c.bits_out, c.bits_acc)
    sbits = _operand_bits(c)
    ncfg = max(np.shape(rows)[0], np.shape(cols)[0])
    na = len(choices)
    cc = np.empty((ncfg, na))
    rw = [[np.zeros((ncfg, na)), np.zeros((ncfg, na))] for _ in range(nl + 1)]
    pe = c.pe_level
    holder = [nl if (h := c.holder(x)) == DRAM else h for x in range(3)]
    mac_side = c.cores * b1 * m1 * k * n1
    for df in dict.fromkeys(ch.dataflow for ch in choices):
        cols_a = np.array([a for a, ch in enumerate(choices) if ch.dataflow == df])
        sel = [choices[a] for a in cols_a]
        er = np.array([[ch.er for ch in sel]])
        ec = np.array([[ch.ec for ch in sel]])
        double = np.array([[ch.double for ch in sel]])
        rf = np.array([ch.rf for ch in sel])
        cyc = np.where(double, systolic.compute_cycles(df, m1, k, n1, rows, cols, b1, er, ec, True, c.pipeline),
                       systolic.compute_cycles(df, m1, k, n1, rows, cols, b1, er, ec, False, c.pipeline))
        cc[:, cols_a] = np.broadcast_to(cyc, (ncfg, len(sel)))
        a_d, b_d, c_d, c_u = systolic.operand_traffic(df, m1, k, n1, rows, cols, bits, b1, er, ec)
        stat = systolic.STATIONARY[df]
        for x, (down, up) in enumerate(((a_d, 0), (b_d, 0), (c_d, c_u))):
            down = np.broadcast_to(down * c.cores, (ncfg, len(sel)))
            up = np.broadcast_to(up * c.cores, (ncfg, len(sel)))
            h = holder[x]
            if x == stat and rf.any():
                p = c.levels[pe].parent[x]
                p = nl if p == DRAM else p
                mac = mac_side * sbits[x]
                in_rf = rf[None, :]
                _add(rw[pe][0], cols_a, np.where(in_rf, mac + up, 0.0))      # MACs read it; drains leave
                _add(rw[pe][1], cols_a, np.where(in_rf, down + (mac if x == 2 else 0), 0.0))
                _add(rw[p][0], cols_a, np.where(in_rf, down, 0.0))
                _add(rw[p][1], cols_a, np.where(in_rf, up, 0.0))
                _add(rw[h][0], cols_a, np.where(in_rf, 0.0, down))
                _add(rw[h][1], cols_a, np.where(in_rf, 0.0, up))
            else:
                _add(rw[h][0], cols_a, down)
                _add(rw[h][1], cols_a, up)
    return cc, [tuple(x) for x in rw]


_ARRAY_STAGES: dict[tuple, tuple] = {}


def _array_stage_of(c: HwConsts, rows: np.ndarray, cols: np.ndarray, choices: Sequence[ArrayChoice], b1: int,
                    m1: int, k: int, n1: int):
    """``array_stage``, remembered across design points of one structure with the same array shapes (int64 (C, 1)
    arrays), choices and per-core problem (it depends on nothing else)."""
    key = (c.structure(), rows.tobytes(), cols.tobytes(), tuple(choices), b1, m1, k, n1)
    hit = _ARRAY_STAGES.get(key)
    if hit is None:
        if len(_ARRAY_STAGES) >= 4096:
            _ARRAY_STAGES.clear()
        hit = _ARRAY_STAGES[key] = array_stage(c, rows, cols, choices, b1, m1, k, n1)
        for x in (hit[0], *(y for rw in hit[1] for y in rw)):
            x.setflags(write=False)
    return hit


def _add(target: np.ndarray, cols: np.ndarray, values) -> None:
    target[:, cols] += values


# -- tiled levels --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelFront:
    """Candidates worth evaluating at one tiled level, per instance and per problem: table rows, double-buffered
    flags, and per parent (fill, drain, first fill, last drain) bits."""

    table: tiling.LevelTable
    idx: np.ndarray
    db: np.ndarray
    parents: tuple[int, ...]
    traffic: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]
    need: np.ndarray               # capacity (bits) a candidate needs, both copies when double-buffered


def _by_parent(t: tiling.LevelTable, parent: tuple[int, int, int]) -> tuple[tuple[int, ...], list]:
    groups: dict[int, list[int]] = {}
    for x, p in enumerate(parent):
        if p is not None:
            groups.setdefault(p, []).append(x)
    out = []
    for p, xs in groups.items():
        out.append(tuple(getattr(t, f)[:, xs].sum(axis=1) for f in ("down", "up", "edge_down", "edge_up")))
    return tuple(groups), out


@functools.lru_cache(maxsize=4096)
def level_fronts(m: int, k: int, n: int, bits: tuple[int, int, int, int], weights: tuple[int, int, int],
                 capacities_bits: tuple[float, ...], split: bool, db_allowed: bool, parent: tuple, mode: str,
                 edge_ratio: float = 1.0) -> tuple[LevelFront, ...]:
    """Per capacity, the level's candidates that no other candidate fitting it matches or beats in every quantity
    the cost depends on: double-buffered ones (when allowed), and single-buffered ones no double-buffered one
    covers (overlapping transfers is never slower). ``parent[x]`` is where operand x comes from (None: not held
    here). The fronts of all capacities come from one pass over the table.

    ``mode`` says what the cost depends on: "shared" (one parent, shared ports at the level and the parent: total
    traffic, first fill + last drain), "split" (one parent, separate read and write ports somewhere: A + B fills,
    partial sums -- drains are partial sums plus the final outputs -- and first fill + ``edge_ratio`` x last drain,
    ``edge_ratio`` being the parent's read/write bandwidth ratio), "general" (several parents: everything per
    parent)."""
    t, parents, groups, feats, one, points = _level_points(m, k, n, bits, weights, split, parent, mode, edge_ratio)
    caps = np.asarray(capacities_bits, dtype=np.float64)[:, None]
    copies_list = (2, 1) if db_allowed else (1,)
    masks = np.concatenate([one * copies <= caps for copies in copies_list])      # (copies x capacities, rows)
    on = points.fronts(masks)
    on = on.reshape(len(copies_list), caps.shape[0], -1)
    out = []
    for i in range(caps.shape[0]):
        fronts = [np.flatnonzero(x[i]) for x in on]
        if len(fronts) == 2 and fronts[0].size and fronts[1].size:
            fronts[1] = fronts[1][~tiling._dominated_by(feats[fronts[0]], feats[fronts[1]])]
        idx = np.concatenate(fronts)
        dbf = np.concatenate([np.full(f.size, copies == 2) for f, copies in zip(fronts, copies_list)])
        traffic = tuple(tuple(np.asarray(x[idx], dtype=np.float64) for x in g) for g in groups)
        out.append(LevelFront(t, idx, dbf, parents, traffic, one[idx].astype(np.float64) * np.where(dbf, 2, 1)))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _level_points(m: int, k: int, n: int, bits: tuple[int, int, int, int], weights: tuple[int, int, int],
                  split: bool, parent: tuple, mode: str, edge_ratio: float):
    """What ``level_fronts`` needs of a level's table at any capacity: the table, its parents and traffic per
    parent, the features compared, the capacity one copy of each candidate needs, and the sorted points."""
    held = tuple(None if w == 0 else p for w, p in zip(weights, parent))
    orders = {"shared": "total", "split": "psum", "general": "all"}[mode]
    t = tiling.level_table(m, k, n, bits, weights, orders)
    parents, groups = _by_parent(t, held)
    feats = _features(t, groups, mode, edge_ratio)
    points = tiling.FrontSorter(feats, grouped=mode == "split" and bool(groups))
    return t, parents, groups, feats, tiling.need_bits(t, split), points


def _features(t: tiling.LevelTable, groups: list, mode: str, edge_ratio: float) -> np.ndarray:
    """(candidates, features): the quantities the cost depends on under ``mode`` (see ``level_fronts``)."""
    rows = len(t.order)
    if not groups:                     # everything this level could hold is resident: nothing moves
        return np.zeros((rows, 1))
    if mode == "shared":
        d, u, ed, eu = groups[0]
        return np.stack([d + u, ed + eu], 1).astype(np.float64)
    if mode == "split":
        ab = (t.down[:, 0] + t.down[:, 1]).astype(np.float64)
        return np.stack([ab, t.down[:, 2].astype(np.float64),
                         (t.edge_down.sum(1) + edge_ratio * t.edge_up.sum(1)).astype(np.float64)], 1)
    return np.stack([np.stack(g, 1) for g in groups], 1).reshape(rows, -1).astype(np.float64)


def _level_fronts(c: HwConsts, k: Ports, g: Gemm, b1: int, m1: int, n1: int, res: tuple[bool, bool, bool]):
    """Per level: None for the per-PE level, else (LevelFront, batch, instances, fits) where the front is the
    union of the fronts at every capacity the configurations (constants ``k``, structure of ``c``) give the level
    and ``fits`` (C, F) says which candidates each configuration can hold (None: all). None when some
    configuration fits no tile at some level."""
    bits = (c.bits_a, c.bits_b, c.bits_out, c.bits_acc)
    sizes = (g.m * g.k * c.bits_a, g.k * g.n * c.bits_b, g.m * g.n * c.bits_out)
    out = []
    for i, lv in enumerate(c.levels):
        if lv.sharing == "per_pe":
            out.append(None)
            continue
        mm, nn, bb = (m1, n1, b1) if lv.sharing == "per_core" else (g.m, g.n, g.b)
        outward_of_home = c.home != DRAM and i >= c.home
        weights = tuple(int(h and not (r and outward_of_home)) for h, r in zip(lv.holds, res))
        caps = k.cap[i]
        if i == c.home and not lv.split:
            caps = caps - g.b * sum(sz for sz, r in zip(sizes, res) if r)
        mode, ratio = front_mode(c, lv, weights)
        distinct, which = np.unique(caps, return_inverse=True)
        key = (mm, g.k, nn, bits, weights, tuple(float(v) for v in distinct), lv.split, lv.db, lv.parent, mode, ratio)
        fronts = level_fronts(*key)
        if any(f.idx.size == 0 for f in fronts):
            return None
        if len(fronts) == 1:
            out.append((fronts[0], bb, lv.instances, None))
            continue
        f, member = _level_union(*key)
        out.append((f, bb, lv.instances, (member, which)))    # each configuration: its own capacity's front
    return out


@functools.lru_cache(maxsize=4096)
def _level_union(*key) -> tuple[LevelFront, np.ndarray]:
    """``level_fronts(*key)`` as one list of candidates, and which of them each capacity's front has."""
    return _union(level_fronts(*key))


def _union(fronts: Sequence[LevelFront]) -> tuple[LevelFront, np.ndarray]:
    """The candidates of several fronts of one table (a (row, double-buffered) pair once), and which of them each
    front has (fronts x candidates)."""
    key = np.concatenate([f.idx * 2 + f.db for f in fronts])
    uniq, keep = np.unique(key, return_index=True)
    member = np.zeros((len(fronts), uniq.size), bool)
    for i, f in enumerate(fronts):
        member[i, np.searchsorted(uniq, f.idx * 2 + f.db)] = True
    idx = np.concatenate([f.idx for f in fronts])[keep]
    db = np.concatenate([f.db for f in fronts])[keep]
    traffic = tuple(tuple(np.concatenate([f.traffic[gi][q] for f in fronts])[keep] for q in range(4))
                    for gi in range(len(fronts[0].traffic)))
    need = np.concatenate([f.need for f in fronts])[keep]
    return LevelFront(fronts[0].table, idx, db, fronts[0].parents, traffic, need), member


def front_mode(c: HwConsts, lv, weights) -> tuple[str, float]:
    """How a tiled level's candidates are compared (see ``level_fronts``) and its parent's read/write ratio."""
    parents = {p for p, w in zip(lv.parent, weights) if p is not None and w}
    if len(parents) > 1:
        return "general", 1.0
    p = next(iter(parents), DRAM)
    pl = None if p == DRAM else c.levels[p]
    if lv.shared_port and (pl is None or pl.shared_port):
        return "shared", 1.0
    return "split", 1.0 if pl is None else pl.read_bw / pl.write_bw


def residency(c: HwConsts, g: Gemm, resident: tuple[bool, bool, bool]) -> tuple[bool, bool, bool]:
    """Which of A, B, C stay in the home level: only operands the home holds, and only while they leave it at
    least half its capacity for tiles."""
    if c.home == DRAM:
        return (False, False, False)
    home = c.levels[c.home]
    return _residency(g.b, g.m, g.k, g.n, c.bits_a, c.bits_b, c.bits_out, home.holds, home.cap_bits,
                      tuple(bool(r) for r in resident))


def _by_residency(g: Gemm, cs: Sequence[HwConsts], resident: tuple[bool, bool, bool],
                  k: Ports) -> dict[tuple, np.ndarray]:
    """The configurations (positions) by their ``residency``, which depends on the home level's capacity alone."""
    c = cs[0]
    if c.home == DRAM:
        return {residency(c, g, resident): np.arange(len(cs))}
    _, first, which = np.unique(k.cap[c.home], return_index=True, return_inverse=True)
    by: dict[tuple, list[int]] = {}
    for u, i in enumerate(first):
        by.setdefault(residency(cs[i], g, resident), []).append(u)
    return {res: np.flatnonzero(np.isin(which.reshape(-1), us)) for res, us in by.items()}


@functools.lru_cache(maxsize=65536)
def _residency(b, m, k, n, bits_a, bits_b, bits_out, holds, cap_bits, resident) -> tuple[bool, bool, bool]:
    res = tuple(r and h for r, h in zip(resident, holds))
    sizes = (m * k * bits_a, k * n * bits_b, m * n * bits_out)
    if b * sum(s for s, r in zip(sizes, res) if r) > cap_bits / 2:
        return (False, False, False)
    return res


# -- the search ----------------------------------------------------------------------------------------------------
@dataclass
class Best:
    """Per configuration: the best objective, cycles, energy, and where it was found (for the schedule)."""

    obj: np.ndarray
    cycles: np.ndarray
    energy: np.ndarray
    where: list = field(default_factory=list)


@dataclass
class Stage:
    """One tiled level's candidates as chip totals: fills and drains per parent, first fill / last drain per
    parent, double buffering (the per-PE level has no stage: its choice is part of the array's)."""

    j: int
    fills: dict[int, tuple[np.ndarray, np.ndarray]]
    edges: dict[int, tuple[np.ndarray, np.ndarray]]
    db: np.ndarray
    size: int
    fits: tuple | None               # (fronts x candidates, front of each configuration): its own front's candidates

    def own(self, cfg: np.ndarray) -> np.ndarray:
        """(len(cfg), candidates): which candidates are on each configuration's own front."""
        member, which = self.fits
        return member[which[cfg]]


def _stages(fronts) -> list[Stage | None]:
    out = []
    for j, entry in enumerate(fronts):
        if entry is None:
            out.append(None)
            continue
        f, batch, inst, fits = entry
        out.append(Stage(j, {p: (batch * inst * d, batch * inst * u) for p, (d, u, _, _) in zip(f.parents, f.traffic)},
                         {p: (inst * ed, inst * eu) for p, (_, _, ed, eu) in zip(f.parents, f.traffic)},
                         f.db, int(f.idx.size), fits))
    return out


def _rows(x: dict[int, tuple[np.ndarray, np.ndarray]], idx=None):
    """Candidate arrays as one row (broadcast against partial schedules), or the entries ``idx``."""
    if idx is None:
        return {p: (a[None, :], b[None, :]) for p, (a, b) in x.items()}
    return {p: (a[idx], b[idx]) for p, (a, b) in x.items()}


class _Bound:
    """Lower bounds from the terms of the same equation, per configuration: for every level, the least its own
    transfers take (fill time, first fill + last drain, energy at it and its parents); per candidate, its own
    terms; for a partial schedule, the least any completion reaches. Candidate terms are computed once per class
    of configurations with equal constants at the level and its parents (and the same front), with the
    candidates of each class sorted by their energy and by their edge time (``prefix``)."""

    SLACK = 1e-6           # a prefix threshold errs this much (relative) on the safe side of rounding

    def __init__(self, k: Ports, stages: list[Stage | None], ncfg: int):
        nl = len(stages)
        fill = np.zeros((nl + 2, ncfg))
        edge = np.zeros((nl + 2, ncfg))
        energy = np.zeros((nl + 2, ncfg))
        self.own: dict[int, tuple] = {}        # per stage: (max(fill, port), edge, energy) by class, class per config
        self.sorted: dict[int, dict] = {}      # per stage and key: (candidate order by class, (class, key) sorted)
        for st in stages:
            if st is None:
                continue
            inv, rep = _classes(k, st, nl)
            kk = k.take(rep, 2)
            f, e, en = 0.0, 0.0, 0.0
            for p, (d, u) in st.fills.items():
                pp = nl if p == DRAM else p
                f = np.maximum(f, kk.port_time(pp, d / kk.n[pp], u / kk.n[pp]))
                en = en + (d + u) * (kk.e_bit[st.j] + kk.e_bit[pp])
            for p, (ed, eu) in st.edges.items():
                pp = nl if p == DRAM else p
                e = e + kk.edge_time(pp, ed / kk.n[pp], eu / kk.n[pp])
            down = sum((d for d, _ in st.fills.values()), np.zeros(st.size))
            up = sum((u for _, u in st.fills.values()), np.zeros(st.size))
            port = kk.port_time(st.j, up / kk.n[st.j], down / kk.n[st.j])
            shape = (rep.size, st.size)
            f, e, en, port = (np.broadcast_to(x, shape) for x in (f, e, en, port))
            if st.fits is not None:
                fits = st.own(rep)
                f, e, en = (np.where(fits, x, np.inf) for x in (f, e, en))
            fp = np.maximum(f, port)
            self.own[st.j] = (fp, e, en, inv)
            self.sorted[st.j] = {"energy": _by_class(en), "edge": _by_class(e)}
            fill[st.j], edge[st.j], energy[st.j] = f.min(axis=1)[inv], e.min(axis=1)[inv], en.min(axis=1)[inv]
        self.fill_after = np.maximum.accumulate(fill[::-1], axis=0)[::-1]
        self.edge_after = np.cumsum(edge[::-1], axis=0)[::-1]
        self.energy_after = np.cumsum(energy[::-1], axis=0)[::-1]

    def parts(self, s: State, after: int, cfg, k: Ports, skip: int = -1):
        """(cycles, first fills + last drains, energy) no completion of partial schedules ``s`` (levels up to
        ``after`` closed) can go below, leaving out level ``skip``'s own contributions. ``cfg``: the configuration
        of each partial schedule (or an index that shapes per-configuration rows like ``s``)."""
        nl = len(k.n) - 1
        rest = after + 1
        nxt = rest + 1 if skip == rest else rest
        t = np.maximum(s.t, self.fill_after[nxt][cfg])
        energy = s.energy + self.energy_after[nxt][cfg]
        for j in range(rest, nl + 1):
            t = np.maximum(t, k.port_time(j, s.reads[j] / k.n[j], s.writes[j] / k.n[j]))
            energy = energy + (s.reads[j] + s.writes[j]) * k.e_bit[j]
        return t, s.edge + self.edge_after[nxt][cfg], energy

    def objective(self, target: str, s: State, after: int, cfg, k: Ports):
        """Least objective any completion of partial schedules ``s`` (levels up to ``after`` closed) reaches."""
        t, edge, energy = self.parts(s, after, cfg, k)
        t = t + edge
        return objective(target, t, energy + leakage_j(k.leak_w, t, k.clock_hz))

    def before(self, s: State, j: int, cfg: np.ndarray, k: Ports):
        """What a partial schedule brings to level ``j``'s candidates: (cycles, edges, energy, leakage W per
        cycle, class at level ``j``), each per partial schedule."""
        t, edge, energy = (np.broadcast_to(x, cfg.shape) for x in self.parts(s, j - 1, cfg, k, skip=j))
        return t, edge, energy, k.leak_w / k.clock_hz, self.own[j][3].take(cfg)

    def pairs(self, target: str, j: int, pre, k: Ports, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """For the pairs (partial schedule ``rows``, candidate ``cols`` of level ``j``): a cheap bound on the
        objective of each extension, from the partial schedule's bound (``pre``, from ``before``) and the
        candidate's own terms (its port, fill time, edges and energy alone)."""
        t, edge, energy, _, cls = pre
        fp, e, en, _ = self.own[j]
        flat = cls.take(rows) * fp.shape[1] + cols
        t = np.maximum(t.take(rows), fp.ravel().take(flat)) + edge.take(rows) + e.ravel().take(flat)
        energy = energy.take(rows) + en.ravel().take(flat)
        return objective(target, t, energy + leakage_j(k.leak_w.take(rows), t, k.clock_hz.take(rows)))

    def prefix(self, target: str, j: int, pre, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(partial schedule, candidate) pairs that can beat ``ub`` (per partial schedule) by a necessary condition
        on one of the candidate's own terms: under "edp" and "energy" its energy, under "latency" its edge time,
        against what the partial schedule already costs. Each partial schedule gets a prefix of its class's
        candidates sorted by that term."""
        t, edge, energy, leak, cls = pre
        ub = ub * (1 + self.SLACK)
        tmin = t + edge
        if target == "latency":
            key, limit = "edge", ub - tmin
        elif target == "energy":
            key, limit = "energy", ub - energy - leak * tmin
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                limit = np.where(tmin > 0, ub / tmin - energy - leak * tmin, np.inf)
            key = "energy"
        order, keys = self.sorted[j][key]
        counts = np.searchsorted(keys, _complex(cls, limit), side="right") - cls * order.shape[1]
        return _ragged(counts, cls, order)


def _complex(real, imag) -> np.ndarray:
    out = np.empty(np.broadcast(real, imag).shape, complex)
    out.real, out.imag = real, imag
    return out


def _by_class(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class (row), the candidates sorted by ``x``; and (class, value) of all of them in that order as complex
    numbers (sorted: a searchsorted finds a prefix of any class's candidates)."""
    order = np.argsort(x, axis=1, kind="stable")
    return order, _complex(np.arange(x.shape[0])[:, None], np.take_along_axis(x, order, 1)).ravel()


def _ragged(counts: np.ndarray, cls: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, candidate) for every row r and the first counts[r] candidates of order[cls[r]]."""
    total = int(counts.sum())
    rows = np.repeat(np.arange(counts.size), counts)
    pos = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, order.ravel().take(cls.take(rows) * order.shape[1] + pos)


def _unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``x`` in lexicographic order: the position of each one's first occurrence, and which
    of them each row is (``np.unique(x, axis=0, return_index=True, return_inverse=True)``, faster)."""
    order = np.lexsort(x.T[::-1])
    ordered = x[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    which = np.empty(x.shape[0], dtype=np.int64)
    which[order] = np.cumsum(new) - 1
    return order[new], which


def _classes(k: Ports, st: Stage, nl: int) -> tuple[np.ndarray, np.ndarray]:
    """Configurations with equal constants at stage ``st``'s level and its parents and the same front: the class
    of each configuration and one representative per class (cached on ``k``: the same for every GEMM)."""
    nj = len(k.shared)
    parents = [nl if p == DRAM else p for p in st.fills]
    rows = tuple(r * nj + j for r in range(4) for j in sorted({st.j, *parents}))
    which = st.fits[1] if st.fits is not None else None
    cache = k.__dict__.setdefault("_classes", {})
    key = (rows, None if which is None else which.tobytes())
    hit = cache.get(key)
    if hit is None:
        cols = [k.row(r) for r in rows] + ([] if which is None else [which.astype(np.float64)])
        rep, inv = _unique_rows(np.stack(cols, 1))
        hit = cache[key] = (inv, rep)
    return hit


def _run(k: Ports, s: State, cfg: np.ndarray, path: np.ndarray, first: int, stages: list[Stage | None],
         target: str, ub: np.ndarray, greedy: bool, bound: _Bound, dive_width: int = 4):
    """Branch and bound over the levels from ``first`` on, for the partial schedules ``s`` (of configurations
    ``cfg``, constants ``k``, choices so far ``path``): (configuration, objective, cycles, energy, choices) of the
    complete schedules that survive. A partial schedule is extended only by the candidates on its configuration's
    front whose bound can beat ``ub`` (the best known objective per configuration), and kept only while its bound
    can; ``greedy`` instead keeps the single most promising partial schedule per configuration after each level,
    extending it by the ``dive_width`` candidates of least bound (a quick dive that finds a good ``ub``)."""
    for j in range(first, len(stages)):
        st = stages[j]
        if st is None:
            s = level(k, s, j)
            continue
        pre = bound.before(s, j, cfg, k)
        if greedy:
            rows, cols = _dive(bound, j, pre, cfg.size, dive_width)
            lb = bound.pairs(target, j, pre, k, rows, cols)
            dense = np.full((cfg.size, cols.size // max(cfg.size, 1)), np.inf)
            dense.ravel()[:] = lb
            width = min(dive_width, dense.shape[1])
            top = np.argpartition(dense, width - 1, axis=1)[:, :width]
            pick = (np.arange(cfg.size)[:, None] * dense.shape[1] + top).ravel()
            pick = pick[np.isfinite(lb.take(pick))]
            rows, cols = rows.take(pick), cols.take(pick)
        else:
            rows, cols = bound.prefix(target, j, pre, ub.take(cfg))
            lb = bound.pairs(target, j, pre, k, rows, cols)
            sel = np.flatnonzero(lb <= ub.take(cfg.take(rows)) * (1 + 1e-9))
            rows, cols = rows.take(sel), cols.take(sel)
        if rows.size == 0:
            return None
        owner = cfg.take(rows)
        kf = k.take(rows, 1)
        new = level(kf, s.take(rows, j), j, _rows(st.fills, cols), _rows(st.edges, cols), st.db.take(cols))
        keep = _select(bound.objective(target, new, j, owner, kf), owner, ub, greedy)
        s, cfg, k = new.take(keep, j + 1), owner.take(keep), kf.take(keep, 1)
        path = np.concatenate((path.take(rows.take(keep), axis=0), cols.take(keep)[:, None]), axis=1)
    if cfg.size == 0:
        return None
    s = finish(k, s)
    return cfg, objective(target, s.t, s.energy), s.t, s.energy, path


def _dive(bound: _Bound, j: int, pre, npartial: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates a greedy dive tries for each partial schedule: the ``2 * width`` of least energy and the
    ``2 * width`` of least edge time in its class (a heuristic: the dive only looks for a good upper bound), as
    (partial schedule, candidate) pairs, ``4 * width`` per partial schedule (repeats possible)."""
    cls = pre[4]
    picks = [order[:, :2 * width] for order, _ in bound.sorted[j].values()]
    per = np.concatenate(picks, axis=1)                        # (classes, up to 4 width)
    rows = np.repeat(np.arange(npartial), per.shape[1])
    return rows, per[cls].ravel()


def _select(lb: np.ndarray, owner: np.ndarray, ub: np.ndarray, greedy: bool) -> np.ndarray:
    """Positions of the partial schedules to keep (``owner``: their configuration, in ascending runs): those whose
    bound does not exceed their configuration's best known objective, or with ``greedy`` the first with the least
    bound per configuration."""
    if not greedy:
        return np.flatnonzero(lb <= ub.take(owner) * (1 + 1e-9))
    if lb.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    least = np.minimum.reduceat(lb, starts)
    at_min = np.flatnonzero(lb == np.repeat(least, np.diff(np.r_[starts, lb.size])))
    first = at_min[np.r_[True, owner[at_min][1:] != owner[at_min][:-1]]]
    return first[np.isfinite(lb[first])]


def _start(k: Ports, macs: int, cc: np.ndarray, array_rw, stages: list[Stage | None]) -> tuple[State, int]:
    """Every (configuration, array choice) priced through the levels before the first tiled one (the per-PE
    level), as (configurations, choices) arrays; and the index of that first tiled level."""
    k2 = k.shaped(2)
    s = start(k2, macs, cc, array_rw)
    s.terms = {}
    j = 0
    while j < len(stages) and stages[j] is None:
        s = level(k2, s, j)
        j += 1
    return s, j


def _take2(s: State, cfg: np.ndarray, a: np.ndarray, shape: tuple[int, int], first: int) -> State:
    """The partial schedules (configuration ``cfg``, array choice ``a``) of a (configurations, choices) State."""
    def pick(f):
        return np.broadcast_to(f, shape)[cfg, a] if np.ndim(f) else f
    nj = len(s.reads)
    return State(pick(s.t), pick(s.energy), pick(s.edge), [None if j < first else pick(s.reads[j]) for j in range(nj)],
                 [None if j < first else pick(s.writes[j]) for j in range(nj)])


def search(g: Gemm, cs: Sequence[HwConsts], resident: tuple[bool, bool, bool] = (False, False, False),
           target: str = "edp", keep_where: bool = False, ports: Ports | None = None) -> Best:
    """The best schedule of ``g`` on each configuration of ``cs`` (all of one ``structure()``, but for the resident
    share of the home level, which the search does not read); ``ports``:
    ``Ports.of(cs)`` when the caller already has it."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (allowed: {TARGETS})")
    n = len(cs)
    ports = ports or Ports.of(cs, 1)
    best = Best(np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf), [None] * n)
    for res, idx in _by_residency(g, cs, resident, ports).items():
        k1 = ports if len(idx) == n else ports.take(idx, 1)
        part = _search(g, [cs[i] for i in idx], res, target, keep_where, k1)
        for f in ("obj", "cycles", "energy"):
            getattr(best, f)[idx] = getattr(part, f)
        for i, w in zip(idx, part.where):
            best.where[i] = w
    return best


def _search(g: Gemm, cs: Sequence[HwConsts], res: tuple[bool, bool, bool], target: str, keep_where: bool,
            k1: Ports) -> Best:
    """Every core split prepared, then a greedy dive in each (upper bounds from all of them), then the exact
    branch and bound in each; of equal objectives the earlier split wins (and in a split, the dive's)."""
    c = cs[0]
    n = len(cs)
    shape = np.stack([k1.rows, k1.cols], 1).astype(np.int64)
    first, shape_of = _unique_rows(shape)
    shapes = (shape[first, :1], shape[first, 1:], shape_of)     # the array stage runs on the distinct shapes
    best = Best(np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf), [None] * n)
    rank = np.full(n, np.inf)                                   # which split holds each best
    prepared = [_prepare(g, c, k1, res, target, sp, shapes) for sp in splits(g, c.cores, c.core_split, c.tile_sizes)]
    for greedy in (True, False):
        for r, sp in enumerate(prepared):
            if sp is not None:
                _pass(sp, k1, target, greedy, best, rank, r, keep_where)
    return best


@dataclass
class _Split:
    """One core split prepared for the search: its per-core problem, array choices, level fronts and stages, the
    bounds, every (configuration, array choice) priced through the per-PE level (``start``, up to level
    ``first``) and the least objective each can reach (``least``, configurations x choices)."""

    where: tuple
    choices: list
    fronts: list
    stages: list
    bound: "_Bound"
    start: State
    first: int
    least: np.ndarray


def _prepare(g: Gemm, c: HwConsts, k1: Ports, res, target: str, split: tuple, shapes) -> _Split | None:
    """A core split ready to search (None when some configuration fits no tile at some level)."""
    how, b1, m1, n1 = split
    fronts = _level_fronts(c, k1, g, b1, m1, n1, res)
    if fronts is None:
        return None
    rows, cols, shape_of = shapes
    choices = array_choices(c, m1, g.k, n1, int(rows.min()), int(cols.min()))
    cc, array_rw = _array_stage_of(c, rows, cols, choices, b1, m1, g.k, n1)
    cc, array_rw = cc[shape_of], [(_expand(r, shape_of), _expand(w, shape_of)) for r, w in array_rw]
    stages = _stages(fronts)
    bound = _Bound(k1, stages, cc.shape[0])
    s0, first = _start(k1, g.macs, cc, array_rw, stages)
    least = np.broadcast_to(bound.objective(target, s0, first - 1, (slice(None), None), k1.shaped(2)), cc.shape)
    return _Split((how, b1, m1, n1), choices, fronts, stages, bound, s0, first, least)


def _expand(x: np.ndarray, shape_of: np.ndarray):
    """An array-stage quantity per distinct array shape, for every configuration; a scalar 0 where it is zero for
    every shape (the equation broadcasts it, and skips the work)."""
    return x[shape_of] if x.any() else 0.0


def _pass(sp: _Split, k1: Ports, target: str, greedy: bool, best: Best, rank: np.ndarray, r: int,
          keep_where: bool) -> None:
    """One greedy dive or one exact branch and bound in split ``sp`` (its position ``r``), from the array choices
    whose bound can beat the best known; improves ``best`` (and ``rank``) in place."""
    n = best.obj.size
    if greedy:                                     # configurations this split may improve, from their best choice
        a = np.argmin(sp.least, axis=1)
        least = sp.least[np.arange(n), a]
        cfg = np.flatnonzero(np.isfinite(least) & (least <= best.obj * (1 + 1e-9)))
        a = a[cfg]
    else:
        cfg, a = np.nonzero(sp.least <= best.obj[:, None] * (1 + 1e-9))
    if cfg.size == 0:
        return
    out = _run(k1.take(cfg, 1), _take2(sp.start, cfg, a, sp.least.shape, sp.first), cfg, a[:, None], sp.first,
               sp.stages, target, best.obj, greedy, sp.bound)
    if out is None:
        return
    cfg, obj, cyc, energy, path = out
    order = np.lexsort((obj, cfg))                 # per configuration, its best first
    firsts = order[np.unique(cfg[order], return_index=True)[1]]
    ci = cfg[firsts]
    better = (obj[firsts] < best.obj[ci]) | ((obj[firsts] == best.obj[ci]) & (r < rank[ci]))
    firsts, ci = firsts[better], ci[better]
    best.obj[ci], best.cycles[ci], best.energy[ci], rank[ci] = obj[firsts], cyc[firsts], energy[firsts], r
    if keep_where:
        for i in firsts:
            best.where[cfg[i]] = (*sp.where, sp.choices, sp.fronts, tuple(int(x) for x in path[i]))


def map_gemm(g: Gemm, c: HwConsts, resident: tuple[bool, bool, bool] = (False, False, False),
             target: str = "edp") -> OpCost:
    """Best schedule of a GEMM under ``target``; ``resident`` says which of A, B, C live in the home level."""
    res = residency(c, g, resident)
    best = _search(g, [c], res, target, True, Ports.of([c], 1))
    if not math.isfinite(best.obj[0]):
        return OpCost(math.inf, {k: 0.0 for k in components(c)}, {"infeasible": why_infeasible(g, c)}, False)
    return _schedule(g, c, res, target, *best.where[0])


def _schedule(g: Gemm, c: HwConsts, res, target, split, b1, m1, n1, choices, fronts, path) -> OpCost:
    """Re-price the winning schedule in detail (same equation) and describe it."""
    ch = choices[path[0]]
    picks = list(path[1:])
    shape = np.array([[c.rows, c.cols]], dtype=np.int64)
    cc, array_rw = _array_stage_of(c, shape[:, :1], shape[:, 1:], choices, b1, m1, g.k, n1)
    col = [path[0]]
    cc, array_rw = cc[:, col], [(r[:, col], w[:, col]) for r, w in array_rw]
    k = Ports.of([c], 1)
    fills, edges, db, chosen = [], [], [], []
    for st, entry in zip(_stages(fronts), fronts):
        if st is None:
            fills.append(None)
            edges.append(None)
            db.append(False)
            chosen.append(None)
            continue
        i = picks.pop(0)
        fills.append(_rows(st.fills, [i]))
        edges.append(_rows(st.edges, [i]))
        db.append(st.db[[i]])
        chosen.append((entry[0], int(entry[0].idx[i]), bool(st.db[i]), entry[1], entry[2]))
    s = schedule_cost(k, g.macs, cc[0], [(r[0], w[0]) for r, w in array_rw], fills, edges, db,
                      [lv.name for lv in c.levels], detail=True)

    def one(x) -> float:
        return float(np.asarray(x).reshape(-1)[0])
    cyc = one(s.t)
    nl = len(c.levels)
    parts = {"mac": one(g.macs * k.e_mac), "pipeline_registers": one(g.macs * k.e_reg), "vector": 0.0}
    for j, lv in enumerate(c.levels):
        parts[lv.name] = one((s.reads[j] + s.writes[j]) * k.e_bit[j])
    parts["dram"] = one((s.reads[nl] + s.writes[nl]) * k.e_bit[nl])
    parts["leakage"] = one(k.leak_w * s.t / k.clock_hz)
    terms = {name: one(v) for name, v in s.terms.items()}
    bound = max(terms, key=terms.get)
    util = g.macs / (cyc * c.cores * c.rows * c.cols) if cyc > 0 else 0.0
    rows_dim, cols_dim, stream = systolic.spatial(ch.dataflow)
    levels = []
    for lv, pick in zip(c.levels, chosen):
        if pick is None:
            levels.append({"name": lv.name, "sharing": lv.sharing, "instances": lv.instances, "used": ch.rf,
                           "holds": OPERAND_NAMES[systolic.STATIONARY[ch.dataflow]] if ch.rf else None,
                           "expansion": {rows_dim: ch.er, cols_dim: ch.ec}, "double_buffered": ch.double})
            continue
        f, i, dbi, batch, inst = pick
        levels.append(_level(lv, f.table, i, dbi, batch, inst,
                             (b1, m1, g.k, n1) if lv.sharing == "per_core" else (g.b, g.m, g.k, g.n)))
    sched = {
        "dataflow": ch.dataflow, "spatial": {"rows": rows_dim, "cols": cols_dim, "streamed": stream, "cores": split},
        "per_pe": {"expansion": {rows_dim: ch.er, cols_dim: ch.ec}, "double_buffered": ch.double} if ch.rf else None,
        "per_core": {"b": b1, "m": m1, "k": g.k, "n": n1},
        "gemm": {"b": g.b, "m": g.m, "k": g.k, "n": g.n}, "dims": dict(g.classes), "levels": levels,
        "resident": dict(zip(OPERAND_NAMES, res)), "utilisation": util, "bound": bound,
        "cycles_by_term": terms, "target": target,
    }
    return OpCost(cyc, parts, sched)


def _level(lv, t: tiling.LevelTable, i: int, db: bool, batch: int, inst: int, problem) -> dict[str, Any]:
    order = [tiling.DIM[d] for d in tiling.ORDERS[int(t.order[i])]]
    moved = float((t.down[i] + t.up[i]).sum()) * batch * inst / 8
    return {"name": lv.name, "sharing": lv.sharing, "instances": inst,
            "problem": dict(zip("bmkn", (int(x) for x in problem))),
            "tile": dict(zip(tiling.DIM, (int(x) for x in t.tiles[i]))),
            "trips": dict(zip(tiling.DIM, (int(x) for x in t.trips[i]))),
            "loop_order": order, "double_buffered": db,
            "refetch": dict(zip(OPERAND_NAMES, (int(x) for x in t.fetch_factor[i]))),
            "traffic_bytes": moved, "tile_bytes": float(t.cap[i].sum()) / 8}


def why_infeasible(g: Gemm, c: HwConsts) -> str:
    one = {"A": c.bits_a, "B": c.bits_b, "C": c.bits_acc}
    for lv in c.levels:
        if lv.sharing == "per_pe":
            continue
        need = [one[x] for x, h in zip(OPERAND_NAMES, lv.holds) if h]
        if (max(need) if lv.split else sum(need)) > lv.cap_bits:
            return (f"{lv.name} of {lv.cap_bits / 8:.0f} B cannot hold even a 1x1x1 tile "
                    f"({(max(need) if lv.split else sum(need)) / 8:.0f} B)")
    return "no tile fits a level next to the resident operands"
