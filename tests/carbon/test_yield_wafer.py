"""Negative-binomial yield and dies per wafer against closed forms and a brute-force wafer map."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.carbon import CarbonError, Design, carbon, dies_per_wafer, negative_binomial_yield


@pytest.mark.parametrize("area_cm2, d0, alpha, expected", [
    (1.0, 0.08, 10, (1 + 0.008) ** -10),        # 0.923317...
    (0.25, 0.07, 10, (1 + 0.00175) ** -10),
    (4.0, 0.2, 3, (1 + 0.8 / 3) ** -3),         # 0.491...
    (0.0, 0.1, 10, 1.0),
])
def test_negative_binomial_closed_form(area_cm2, d0, alpha, expected):
    assert negative_binomial_yield(area_cm2, d0, alpha) == pytest.approx(expected, rel=1e-12)


def test_negative_binomial_tends_to_poisson():
    assert negative_binomial_yield(2.0, 0.1, 1e7) == pytest.approx(math.exp(-0.2), rel=1e-6)


def test_hand_computed_value():
    # 1 cm2 at 22 nm (D0 = 0.08, alpha = 10): (1.008)^-10 = exp(-10 ln 1.008) = 0.92341
    assert float(negative_binomial_yield(1.0, 0.08, 10)) == pytest.approx(0.92341, abs=1e-5)


@pytest.mark.parametrize("area_mm2, expected", [
    (100.0, math.pi * 300**2 / 400 - math.pi * 300 / math.sqrt(200)),   # 640.215
    (25.0, math.pi * 300**2 / 100 - math.pi * 300 / math.sqrt(50)),     # 2694.2
])
def test_dies_per_wafer_closed_form(area_mm2, expected):
    assert dies_per_wafer(area_mm2, 300.0) == pytest.approx(expected, rel=1e-12)
    assert float(dies_per_wafer(100.0)) == pytest.approx(640.215, abs=0.001)  # 706.858 - 66.643


def _brute_force_dies(side_mm: float, diameter_mm: float = 300.0, offsets: int = 8) -> int:
    """Most whole square dies that fit inside the wafer, over a few grid offsets."""
    r = diameter_mm / 2
    best = 0
    n = int(diameter_mm // side_mm) + 2
    idx = np.arange(-n, n + 1)
    for ox in np.linspace(0, side_mm, offsets, endpoint=False):
        for oy in np.linspace(0, side_mm, offsets, endpoint=False):
            x0 = idx[:, None] * side_mm + ox
            y0 = idx[None, :] * side_mm + oy
            far_x = np.maximum(np.abs(x0), np.abs(x0 + side_mm))
            far_y = np.maximum(np.abs(y0), np.abs(y0 + side_mm))
            best = max(best, int(np.count_nonzero(far_x**2 + far_y**2 <= r * r)))
    return best


@pytest.mark.parametrize("side_mm", [3.0, 5.0, 10.0, 20.0])
def test_dies_per_wafer_formula_tracks_a_wafer_map(side_mm):
    exact = _brute_force_dies(side_mm)
    assert float(dies_per_wafer(side_mm**2)) == pytest.approx(exact, rel=0.06)


def test_wafer_accounting_charges_edge_loss_and_nb_yield(est):
    # catx-default: CPA x (wafer area / dies per wafer) / NB yield, at 22 nm Taiwan 583 g/kWh, 95% abatement.
    r = carbon(est, "catx-default")
    cpa = 583 * 1.077 + 188.28 + 500
    area_cm2 = est.area_mm2 / 100
    y = (1 + area_cm2 * 0.08 / 10) ** -10
    dpw = math.pi * 300**2 / (4 * est.area_mm2) - math.pi * 300 / math.sqrt(2 * est.area_mm2)
    eff_cm2 = math.pi * 15.0**2 / dpw
    assert r.yield_ == pytest.approx(y, rel=1e-12)
    assert r.breakdown_kg["die"] == pytest.approx(cpa * eff_cm2 / y / 1000, rel=1e-12)
    assert eff_cm2 > area_cm2  # edge loss makes each die cost more silicon than its own area


def test_huge_die_does_not_fit_a_wafer():
    d = Design(0.01, 0.0, 0.0, 0.01, 80_000.0, 22, "lpddr4", 1.0)
    with pytest.raises(CarbonError, match="does not fit a wafer"):
        carbon(d, "catx-default")
