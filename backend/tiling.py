"""Tilings of one memory level: every (tile, loop order) candidate's traffic to its parent, per operand, as tables.

A level holds an ``tm x tk`` tile of A, ``tk x tn`` of B and ``tm x tn`` of C, and walks its problem in one of the
six loop orders. An operand is re-fetched each time a loop that indexes it advances; loops that do not index it and
sit inside its innermost indexing loop (with more than one trip) reuse it. Fetches of operand X are therefore
``|X| * prod(trips of the loops outside X's innermost indexing loop that do not index X)``, exact with remainder
tiles. C's extra visits move partial sums at accumulator width: read back (down) and written out (up).

Candidates: a dim of size P is split into q trips with q a power of two, a divisor of P up to 16, or P; the tile
is ceil(P / q). For a fixed trip count the smallest tile moves the same data with less capacity and a smaller first
fill, so larger tiles with the same trips are dominated and never listed.

Traffic is exact integer arithmetic (int64); a problem whose traffic could exceed 2**62 bits is refused with a
typed error rather than overflowing.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from .errors import MappingError

ORDERS = tuple(itertools.permutations(range(3)))          # loops over (m, k, n), outermost first
DIM = ("m", "k", "n")
RELEVANT = {"A": (True, True, False), "B": (False, True, True), "C": (True, False, True)}
LIMIT_BITS = 2 ** 62


def trip_candidates(size: int, max_divisor: int = 16) -> np.ndarray:
    qs = {1, size}
    q = 2
    while q < size:
        qs.add(q)
        q *= 2
    qs |= {d for d in range(2, min(size, max_divisor) + 1) if size % d == 0}
    tiles = sorted({-(-size // q) for q in qs})
    return np.array(sorted({-(-size // t) for t in tiles}), dtype=np.int64)


@dataclass(frozen=True)
class LevelTable:
    """Every candidate of one level (per instance, one problem): trips, tiles (n, 3), loop order index, and per
    operand A, B, C (n, 3): bits fetched from the parent (``down``), bits written to it (``up``), first fill
    (``edge_down``), last drain (``edge_up``) and the capacity one copy of the tiles needs (``cap``)."""

    trips: np.ndarray
    tiles: np.ndarray
    order: np.ndarray
    fetch_factor: np.ndarray
    down: np.ndarray
    up: np.ndarray
    edge_down: np.ndarray
    edge_up: np.ndarray
    cap: np.ndarray


@functools.lru_cache(maxsize=4096)
def _factors(m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiles (nq, 3), trips (nq, 3) and re-fetch factors (nq, 6 orders, 3 operands) of every candidate."""
    P = np.array([m, k, n], dtype=np.int64)
    qs = [trip_candidates(int(s)) for s in P]
    grid = np.stack(np.meshgrid(*qs, indexing="ij"), -1).reshape(-1, 3)
    tiles = -(-P // grid)
    trips = -(-P // tiles)
    gt1 = trips > 1
    factor = np.ones((grid.shape[0], len(ORDERS), 3), dtype=np.int64)
    for oi, o in enumerate(ORDERS):
        for xi, x in enumerate("ABC"):
            rel = RELEVANT[x]
            f = None
            found = None
            for pos in (2, 1, 0):
                d = o[pos]
                if rel[d]:
                    found = gt1[:, d] if found is None else found | gt1[:, d]
                elif found is not None:
                    mult = np.where(found, trips[:, d], 1)
                    f = mult if f is None else f * mult
            if f is not None:
                factor[:, oi, xi] = f
    for arr in (tiles, trips, factor):
        arr.setflags(write=False)
    return tiles, trips, factor


def check_size(m: int, k: int, n: int, bits: int, batch: int = 1) -> None:
    """Refuse problems whose traffic could overflow exact int64 arithmetic (typed error, never a wrong number)."""
    worst = float(batch) * (float(m) * k + float(k) * n + float(m) * n) * max(m, k, n) * bits * 2
    if worst >= LIMIT_BITS:
        raise MappingError(f"GEMM {batch}x{m}x{k}x{n} is too large to model exactly: its traffic could reach "
                           f"{worst:.3g} bits (limit 2**62 = {LIMIT_BITS:.3g}); split the problem")


ORDER_MODES = ("all", "total", "psum")


@functools.lru_cache(maxsize=4096)
def level_table(m: int, k: int, n: int, bits: tuple[int, int, int, int], weights: tuple[int, int, int] = (1, 1, 1),
                orders: str = "all") -> LevelTable:
    """Candidates for one ``m x k x n`` problem; ``bits`` = (A, B, output, accumulator). An operand with weight 0
    is not held at this level (bypassed or resident): it moves nothing here and takes no tile space.

    ``orders``: "all" lists every (tile, order) pair; "total" keeps per tile the order with the least total
    traffic (enough when the cost depends on total traffic and first fill only); "psum" keeps per tile the order
    with the least A + B traffic among those that keep C in place (no partial sums) and among those that move
    partial sums (enough when fills and drains count apart: every order of a class moves the same partial sums)."""
    check_size(m, k, n, max(bits))
    ba, bb, bo, bacc = bits
    tiles, trips, factor = _factors(m, k, n)
    nq, no = tiles.shape[0], len(ORDERS)
    wa, wb, wc = weights
    sizes = (m * k, k * n, m * n)
    ab = wa * sizes[0] * factor[:, :, 0] * ba + wb * sizes[1] * factor[:, :, 1] * bb     # (nq, 6): A + B fetched
    if orders == "all":
        order = np.tile(np.arange(no), nq)
        trips, tiles = np.repeat(trips, no, axis=0), np.repeat(tiles, no, axis=0)
        factor = factor.reshape(-1, 3)
    elif orders == "total":
        psum = wc * (2 * (factor[:, :, 2] - 1) * sizes[2] * bacc + sizes[2] * bo)     # C down and up
        order = np.argmin(ab + psum, axis=1)
        factor = factor[np.arange(nq), order]
    elif orders == "psum":
        keeps_c = factor[:, :, 2] == 1
        big = np.iinfo(np.int64).max
        pick = [np.argmin(np.where(keeps_c, ab, big), axis=1), np.argmin(np.where(keeps_c, big, ab), axis=1)]
        rows_l, order_l = [], []
        for cls, o in zip((True, False), pick):
            ok = keeps_c[np.arange(nq), o] == cls
            rows_l.append(np.nonzero(ok)[0])
            order_l.append(o[ok])
        rows, order = np.concatenate(rows_l), np.concatenate(order_l)
        trips, tiles = trips[rows], tiles[rows]
        factor = factor[rows, order]
    else:
        raise ValueError(f"orders must be one of {ORDER_MODES}, got {orders!r}")
    down, up = _traffic(factor, sizes, weights, bits)
    ta, tb, tc = tiles[:, 0] * tiles[:, 1], tiles[:, 1] * tiles[:, 2], tiles[:, 0] * tiles[:, 2]
    c_bits = np.where(trips[:, 1] > 1, bacc, bo)
    cap = np.stack([wa * ta * ba, wb * tb * bb, wc * tc * c_bits], -1)
    edge_down = np.stack([wa * ta * ba, wb * tb * bb, 0 * tc], -1)
    edge_up = np.stack([0 * ta, 0 * tb, wc * tc * bo], -1)
    for arr in (trips, tiles, order, factor, down, up, edge_down, edge_up, cap):
        arr.setflags(write=False)
    return LevelTable(trips, tiles, order, factor, down, up, edge_down, edge_up, cap)


def _traffic(factor: np.ndarray, sizes: tuple[int, int, int], weights: tuple[int, int, int],
             bits: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Bits fetched from the parent (down) and written to it (up) per operand A, B, C (n, 3), from the re-fetch
    factors (n, 3): C's extra visits move partial sums at accumulator width, read back and written out."""
    (wa, wb, wc), (ba, bb, bo, bacc) = weights, bits
    extra_c = (factor[:, 2] - 1) * sizes[2]                           # partial-sum visits beyond the first
    down = np.stack([wa * sizes[0] * factor[:, 0] * ba, wb * sizes[1] * factor[:, 1] * bb, wc * extra_c * bacc], -1)
    up = np.zeros_like(down)
    up[:, 2] = wc * (extra_c * bacc + sizes[2] * bo)
    return down, up


def need_bits(table: LevelTable, split: bool) -> np.ndarray:
    """Capacity (bits) one copy of each candidate's tiles needs: all operands in one capacity, or (``split``) the
    largest, each operand having its own buffer of that capacity."""
    return table.cap.max(axis=1) if split else table.cap.sum(axis=1)


def fits(table: LevelTable, capacity_bits: float, split: bool, copies: int) -> np.ndarray:
    """Which candidates fit ``copies`` copies of their tiles."""
    return need_bits(table, split) * copies <= capacity_bits


def pareto_grouped(f1: np.ndarray, group: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Pareto indices over (f1, group, f2) when ``group`` takes few distinct values (all minimised; of equal
    points the first)."""
    points = FrontSorter(np.stack([f1, group, f2], 1), grouped=True)
    return np.flatnonzero(points.fronts(np.ones((1, f1.shape[0]), bool))[0])


def pareto_masks(features: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(subsets, rows): whether each row is on the Pareto front of each subset (the rows of ``masks``)."""
    return FrontSorter(features).fronts(masks)


class FrontSorter:
    """The Pareto fronts of many subsets of one set of points (all features minimised; of equal points the first),
    the sorting done once for all subsets. ``grouped``: three features, the middle one taking few distinct values
    (then a point survives if it is on its own group's 2-D front over the other two and no point of a smaller
    group has both <= its own; only points on their own group's front can dominate across groups, since a point
    off it is dominated within its group by one on it). One or two features: one running minimum. More: ``pareto``
    per subset."""

    def __init__(self, features: np.ndarray, grouped: bool = False):
        self.features = features
        n, k = features.shape
        self.grouped = grouped and n > 0
        if self.grouped:
            f1, group, f2 = features.T
            levels, self.group = np.unique(group, return_inverse=True)
            self.levels = len(levels)
            self.y2 = f2 - f2.min()              # bit counts: integers, exact in float64 with the offsets below
            self.order = np.lexsort((self.y2, f1, self.group))         # by group, then f1, then f2
            # a running minimum that restarts at every group
            self.y = self.y2[self.order] - self.group[self.order] * (self.y2.max() + 1.0)
        elif k <= 2:
            self.order = np.lexsort(features.T[::-1])

    def fronts(self, masks: np.ndarray) -> np.ndarray:
        """(subsets, points): whether each point is on the front of each subset (the rows of ``masks``)."""
        n, k = self.features.shape
        on = np.zeros(masks.shape, bool)
        if n == 0:
            return on
        if self.grouped:
            return self._grouped(masks, on)
        if k > 2:
            for s, mask in enumerate(masks):
                idx = np.flatnonzero(mask)
                on[s, idx[pareto(self.features[idx])]] = True
            return on
        inside = masks[:, self.order]
        if k == 1:
            some = inside.any(axis=1)
            on[np.flatnonzero(some), self.order[np.argmax(inside, axis=1)[some]]] = True
            return on
        y = np.where(inside, self.features[self.order, 1], np.inf)
        on[:, self.order] = y < _running_min_before(y)
        return on

    def _grouped(self, masks: np.ndarray, on: np.ndarray) -> np.ndarray:
        y = np.where(masks[:, self.order], self.y, np.inf)
        on[:, self.order] = y < _running_min_before(y)
        if self.levels == 1:
            return on
        cand = np.flatnonzero(on.any(axis=0))
        x, gg, yy = self.features[cand, 0], self.group[cand], self.y2[cand]
        of = np.argsort(x, kind="stable")
        run = np.full((masks.shape[0], self.levels, cand.size), np.inf)
        run[:, gg[of], np.arange(cand.size)] = np.where(on[:, cand[of]], yy[of], np.inf)
        run = np.minimum.accumulate(np.minimum.accumulate(run, axis=2), axis=1)
        last = np.searchsorted(x[of], x, side="right") - 1                # the last point with f1 <= own
        covered = (gg > 0) & (run[:, np.maximum(gg - 1, 0), last] <= yy)
        on[:, cand] &= ~covered
        return on


def _running_min_before(y: np.ndarray) -> np.ndarray:
    """Per row, the least of the values before each position (inf at the first)."""
    shifted = np.concatenate((np.full((y.shape[0], 1), np.inf), y[:, :-1]), axis=1)
    return np.minimum.accumulate(shifted, axis=1)


def pareto(features: np.ndarray) -> np.ndarray:
    """Indices of the rows not dominated by another row (all features minimised; of equal rows the first).

    Cost is non-decreasing in every feature, so a dominated candidate can never be strictly better."""
    n, k = features.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(features.T[::-1])
    f = features[order]
    if k == 1:
        return order[:1]
    if k == 2:
        prev = np.minimum.accumulate(np.concatenate(([np.inf], f[:-1, 1])))
        return np.sort(order[f[:, 1] < prev])
    keep: list[int] = []
    front = np.empty((0, k))
    chunk = 512
    for s in range(0, n, chunk):
        c = f[s:s + chunk]
        dom = _dominated_by(front, c) if front.shape[0] else np.zeros(c.shape[0], bool)
        # within the chunk (lexicographic order: only earlier rows can dominate later ones)
        le = np.tri(c.shape[0], k=-1, dtype=bool)               # le[i, j]: row j <= row i everywhere, j < i
        for d in range(k):
            le &= c[None, :, d] <= c[:, None, d]
        dom |= le.any(-1)
        idx = np.nonzero(~dom)[0]
        keep.extend((s + idx).tolist())
        front = np.concatenate((front, c[idx]))
    return np.sort(order[np.array(keep, dtype=np.int64)])


def _dominated_by(front: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether each row is matched or beaten in every feature by some front row."""
    le = np.ones((rows.shape[0], front.shape[0]), bool)
    for d in range(rows.shape[1]):
        le &= front[None, :, d] <= rows[:, None, d]
    return le.any(-1)
