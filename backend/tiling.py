"""Tilings of one memory level: every (tile, loop order) candidate's traffic to its parent, as numpy tables.

A level holds an ``tm x tk`` tile of A, ``tk x tn`` of B and ``tm x tn`` of C, and walks the problem in one of
the six loop orders. An operand is re-fetched each time a loop that indexes it advances; loops that do not index
it and sit inside its innermost indexing loop (with more than one trip) reuse it. Fetches of operand X are
therefore ``|X| * prod(trips of the loops outside X's innermost indexing loop that do not index X)``, exact with
remainder tiles. C's extra visits move partial sums (written, then read back) at accumulator width.

Candidates: a dim of size P is split into q trips with q a power of two, a divisor of P up to 16, or P; the tile
is ceil(P / q). For a fixed trip count the smallest tile moves the same data with less capacity and a smaller
first fill, so larger tiles with the same trips are dominated and never listed (the pruning proof).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

ORDERS = tuple(itertools.permutations(range(3)))          # loops over (m, k, n), outermost first
DIM = ("m", "k", "n")
RELEVANT = {"A": (True, True, False), "B": (False, True, True), "C": (True, False, True)}


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
    """Every candidate of one level: trips and tiles (n, 3), loop order index, traffic and capacity in bits."""

    trips: np.ndarray
    tiles: np.ndarray
    order: np.ndarray
    fetch_factor: np.ndarray     # (n, 3): re-fetch factor of A, B, C
    traffic_bits: np.ndarray     # bits moved between this level and its parent
    edge_bits: np.ndarray        # first fill (A, B tiles) + last drain (C tile)
    cap_bits: np.ndarray         # capacity one copy of the tiles needs
    by_traffic: np.ndarray       # candidate indices sorted by (traffic, edge)


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


@functools.lru_cache(maxsize=4096)
def level_table(m: int, k: int, n: int, bits_a: int, bits_b: int, bits_out: int, bits_acc: int,
                weights: tuple[int, int, int] = (1, 1, 1), all_orders: bool = False) -> LevelTable:
    """Candidates for one m x k x n problem; an operand with weight 0 is resident at this level's parent side
    (moves nothing and takes no tile space). ``b`` independent problems move ``b`` times the traffic with the
    same tiles (the batch loop is outermost: it indexes every operand, so nothing is reused across it).

    Capacity and first fill depend on the tile only, so per tile only the loop order with the least traffic is
    kept (ties: the first in ``ORDERS``); ``all_orders=True`` keeps all six (for brute-force checks)."""
    tiles, trips, factor = _factors(m, k, n)
    nq, no = tiles.shape[0], len(ORDERS)
    wa, wb, wc = weights
    size_a, size_b, size_c = m * k, k * n, m * n
    visits_c = size_c * factor[:, :, 2]
    traffic = (wa * size_a * factor[:, :, 0] * bits_a + wb * size_b * factor[:, :, 1] * bits_b
               + wc * (2 * (visits_c - size_c) * bits_acc + size_c * bits_out))          # (nq, 6)
    if all_orders:
        order = np.tile(np.arange(no), nq)
        trips, tiles = np.repeat(trips, no, axis=0), np.repeat(tiles, no, axis=0)
        factor, traffic = factor.reshape(-1, 3), traffic.reshape(-1)
    else:
        order = np.argmin(traffic, axis=1)
        rows = np.arange(nq)
        factor, traffic = factor[rows, order], traffic[rows, order]
    ta, tb, tc = tiles[:, 0] * tiles[:, 1], tiles[:, 1] * tiles[:, 2], tiles[:, 0] * tiles[:, 2]
    c_bits = np.where(trips[:, 1] > 1, bits_acc, bits_out)
    cap = wa * ta * bits_a + wb * tb * bits_b + wc * tc * c_bits
    edge = wa * ta * bits_a + wb * tb * bits_b + wc * tc * bits_out
    traffic, edge, cap = traffic.astype(np.float64), edge.astype(np.float64), cap.astype(np.float64)
    by = np.lexsort((edge, traffic))
    for arr in (trips, tiles, order, factor, traffic, edge, cap, by):
        arr.setflags(write=False)
    return LevelTable(trips, tiles, order, factor, traffic, edge, cap, by)


def front(table: LevelTable, capacity_bits: float, copies: int) -> np.ndarray:
    """Indices of the (traffic, edge) Pareto front among candidates whose ``copies`` copies fit the capacity.

    Cost is non-decreasing in both traffic and edge bits, so a dominated candidate can never be strictly better.
    """
    idx = table.by_traffic[table.cap_bits[table.by_traffic] * copies <= capacity_bits]
    if idx.size == 0:
        return idx
    e = table.edge_bits[idx]
    prev = np.minimum.accumulate(np.concatenate(([np.inf], e[:-1])))
    return idx[e < prev]
