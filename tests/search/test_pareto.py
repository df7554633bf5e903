"""Pareto masks against brute force; hypervolume against inclusion-exclusion (exact) and closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from search.pareto import hv_curve, hypervolume, pareto_mask


def brute_mask(c: np.ndarray) -> np.ndarray:
    n = len(c)
    return np.array([not any(np.all(c[j] <= c[i]) and np.any(c[j] < c[i]) for j in range(n)) for i in range(n)])


def inclusion_exclusion(p: np.ndarray, ref: np.ndarray) -> float:
    """Volume of the union of boxes [p_i, ref] by inclusion-exclusion over every subset (exact, tiny sets only)."""
    total = 0.0
    for r in range(1, len(p) + 1):
        for sub in itertools.combinations(range(len(p)), r):
            corner = p[list(sub)].max(axis=0)
            total += (-1) ** (r + 1) * np.prod(np.clip(ref - corner, 0, None))
    return total


@pytest.mark.parametrize("seed", range(5))
def test_pareto_mask_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 6, size=(40, 3)).astype(float)     # many ties and duplicates
    assert np.array_equal(pareto_mask(c), brute_mask(c))


@pytest.mark.parametrize("d,seed", [(2, 0), (2, 1), (3, 2), (3, 3), (4, 4), (5, 5)])
def test_hypervolume_is_exact(d, seed):
    rng = np.random.default_rng(seed)
    p = rng.random((9, d))
    ref = np.full(d, 1.1)
    assert hypervolume(p, ref) == pytest.approx(inclusion_exclusion(p, ref), rel=1e-12)


def test_hypervolume_closed_forms():
    assert hypervolume(np.array([[0.25, 0.5, 0.0]]), np.ones(3)) == pytest.approx(0.75 * 0.5 * 1.0)
    # a staircase of two points in 2-D: 1x0.5 + 0.5x0.5
    assert hypervolume(np.array([[0.0, 0.5], [0.5, 0.0]]), np.ones(2)) == pytest.approx(0.75)
    # points outside the reference box, or inf (failed trials), add nothing
    assert hypervolume(np.array([[2.0, 0.1], [np.inf, 0.0]]), np.ones(2)) == 0.0


def test_hv_curve_is_monotone_and_ends_at_full_front():
    rng = np.random.default_rng(7)
    c = rng.random((60, 3))
    c[::7] = np.inf
    ks, hv = hv_curve(c, np.zeros(3), np.ones(3), points=20)
    assert ks[-1] == 60 and np.all(np.diff(hv) >= -1e-15)
    assert hv[-1] == pytest.approx(hypervolume(c[np.isfinite(c).all(axis=1)], np.full(3, 1.1)))
