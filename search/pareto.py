"""Pareto fronts and hypervolume of cost vectors (every objective minimised), exact in any dimension.

Hypervolume uses slicing: sort by the last objective, and sum slabs of the (d-1)-dimensional hypervolume of the
points seen so far; the base case is the exact 2-D sweep. Fine for the fronts a study produces (tens of points).
"""

from __future__ import annotations

import numpy as np


def pareto_mask(costs: np.ndarray) -> np.ndarray:
    """True for rows no other row dominates (<= everywhere, < somewhere); duplicates all stay."""
    c = np.asarray(costs, dtype=float)
    n = len(c)
    if n <= 2048:              # all pairs at once: [i, j] is True when row i dominates row j
        le = np.all(c[:, None, :] <= c[None, :, :], axis=2)
        lt = np.any(c[:, None, :] < c[None, :, :], axis=2)
        return ~np.any(le & lt, axis=0)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(c[i] <= c, axis=1) & np.any(c[i] < c, axis=1)
        keep &= ~dominated
    return keep


def _hv2(p: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-D sweep, vectorised: by increasing x, each point adds (ref_x - x) x (its drop of the running min y);
    dominated points drop it by 0, so they need no filtering."""
    p = p[np.argsort(p[:, 0], kind="stable")]
    low = np.minimum.accumulate(p[:, 1])
    before = np.concatenate([[ref[1]], low[:-1]])
    return float(np.sum((ref[0] - p[:, 0]) * (before - low)))


def _hv(p: np.ndarray, ref: np.ndarray) -> float:
    if len(p) == 0:
        return 0.0
    d = p.shape[1]
    if d == 1:
        return float(ref[0] - p[:, 0].min())
    if d == 2:
        return _hv2(p, ref)
    p = p[np.argsort(p[:, -1], kind="stable")]
    hv = 0.0
    for i in range(len(p)):
        top = p[i + 1, -1] if i + 1 < len(p) else ref[-1]
        depth = top - p[i, -1]
        if depth > 0:
            sub = p[: i + 1, :-1]
            hv += depth * _hv(sub if d == 3 else sub[pareto_mask(sub)], ref[:-1])
    return hv


def hypervolume(costs: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``costs`` and bounded by the reference point ``ref`` (points beyond it count 0)."""
    c = np.asarray(costs, dtype=float).reshape(-1, len(ref))
    r = np.asarray(ref, dtype=float)
    c = c[np.all(c < r, axis=1) & np.all(np.isfinite(c), axis=1)]
    if len(c) == 0:
        return 0.0
    return float(_hv(c[pareto_mask(c)], r))


def normalise(costs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map each objective to [0, 1] over [lo, hi] (a constant objective maps to 0)."""
    span = np.where(np.asarray(hi) > np.asarray(lo), np.asarray(hi) - np.asarray(lo), 1.0)
    return (np.asarray(costs, dtype=float) - lo) / span


def hv_curve(costs: np.ndarray, lo: np.ndarray, hi: np.ndarray, points: int = 50,
             ref: float = 1.1) -> tuple[np.ndarray, np.ndarray]:
    """Hypervolume of the first k trials (normalised over [lo, hi], reference ``ref`` on every axis) for ``points``
    values of k up to the last; infeasible trials should be passed as rows of inf."""
    c = normalise(costs, lo, hi)
    n = len(c)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    ks = np.unique(np.linspace(1, n, min(points, n)).round().astype(int))
    r = np.full(c.shape[1], ref)
    front = np.zeros((0, c.shape[1]))
    out, prev, last = [], 0, None
    for k in ks:
        front = np.vstack([front, c[prev:k]])
        front = front[np.all(np.isfinite(front), axis=1)]
        front = front[pareto_mask(front)] if len(front) else front
        if last is None or not np.array_equal(front, last[0]):     # the front moved: measure it again
            last = (front, hypervolume(front, r))
        out.append(last[1])
        prev = k
    return ks, np.array(out)
