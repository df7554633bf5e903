"""Monte Carlo bands, the tornado, and paired P(A < B)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from backend.carbon import Design, carbon, monte_carlo, prob_less, tornado, with_uncertainty
from backend.carbon.setup import resolve
from backend.carbon.uncertainty import sample_params

PRESETS = ["catx-default", "paper-california", "catransformers-code", "taiwan"]


@pytest.mark.parametrize("name", PRESETS)
def test_bands_contain_the_deterministic_value(est, name):
    det = carbon(est, name).total_kg
    b = monte_carlo(est, name, samples=20_000, seed=3)
    assert b.p5_kg < det < b.p95_kg
    assert b.p5_kg < b.p50_kg < b.p95_kg


def test_seeded_and_reproducible(est):
    assert monte_carlo(est, "catx-default", samples=2000, seed=7) == monte_carlo(est, "catx-default",
                                                                                  samples=2000, seed=7)
    assert monte_carlo(est, "catx-default", samples=2000, seed=7) != monte_carlo(est, "catx-default",
                                                                                  samples=2000, seed=8)


def test_samples_are_triangular_within_range(est):
    d = Design(0.01, 0.0, 0.0, 0.01, 10.0, 22, "lpddr4", 1.0)
    from backend.carbon import scenarios
    s = resolve(scenarios.get("catx-default"), d.node_nm, d.dram_kind)
    (p,) = sample_params([s], 50_000, 0)
    c = s.params["grid_g_per_kwh"]
    x = p["grid_g_per_kwh"]
    assert x.min() >= c.low and x.max() <= c.high
    assert x.mean() == pytest.approx((c.low + c.value + c.high) / 3, rel=0.01)  # triangular mean


def test_tornado_is_sorted_and_exact(est):
    sw = tornado(est, "catx-default", top=20)
    assert [s.swing_kg for s in sw] == sorted((s.swing_kg for s in sw), reverse=True)
    pkg = next(s for s in sw if s.symbol == "package_g")
    base = carbon(est, "catx-default").total_kg
    # packaging is additive: 100 g and 200 g against the nominal 150 g
    assert pkg.total_at_low_kg == pytest.approx(base - 0.05, rel=1e-12)
    assert pkg.total_at_high_kg == pytest.approx(base + 0.05, rel=1e-12)


def test_tornado_leads_with_the_grid_for_an_energy_hungry_design(est):
    hungry = dataclasses.replace(est, energy_j=5.0, leakage_j=0.0)
    top = tornado(hungry, "taiwan", top=1)[0]
    assert top.symbol == "grid_g_per_kwh"


def test_prob_less_is_paired(est):
    a = Design(0.012, 0.002, 0.1, 0.0185, 25.0, 22, "lpddr4", 1.0)
    b = dataclasses.replace(a, area_mm2=25.5)  # 2% more silicon, same everything else
    # shared constants are drawn jointly, so the bigger die is worse in every sample
    assert prob_less(a, b, "catx-default", samples=5000, seed=0) == 1.0
    assert prob_less(b, a, "catx-default", samples=5000, seed=0) == 0.0
    assert prob_less(a, a, "catx-default", samples=5000, seed=0) == 0.0


def test_prob_less_against_an_independent_sampler():
    # Same die, so fab constants cancel. A: half the DRAM but 16 mJ more per inference; which wins depends on the
    # grid, delivery efficiency, DRAM g/GB and DRAM yield. Reference: those four drawn here, by hand.
    a = Design(0.0263, 0.0, 0.0, 0.0185, 20.0, 22, "lpddr4", 0.5)
    b = Design(0.0100, 0.0, 0.0, 0.0185, 20.0, 22, "lpddr4", 1.0)
    p = prob_less(a, b, "catx-default", samples=40_000, seed=1)
    rng = np.random.default_rng(12345)
    m = 400_000
    grid = rng.triangular(200, 224, 300, m)
    pde = rng.triangular(0.85, 0.875, 0.90, m)
    gpg = rng.triangular(36, 48, 60, m)
    dy = rng.triangular(0.80, 0.875, 0.95, m)
    n = 3 * 365 * 6 * 3600
    d_op_g = (0.0263 - 0.0100) * n * grid / pde / 3.6e6
    d_dram_g = (0.5 - 1.0) * gpg / dy
    ref = np.mean(d_op_g + d_dram_g < 0)
    assert 0.1 < ref < 0.9
    assert p == pytest.approx(ref, abs=0.015)


def test_with_uncertainty_fills_the_report(est):
    r = with_uncertainty(est, "catx-default", samples=3000, seed=2, top=5)
    assert r.bands is not None and len(r.tornado) == 5
    d = r.to_dict()
    assert d["bands"]["samples"] == 3000 and len(d["tornado"]) == 5
    assert "P5" in r.format()


def test_mc_mean_of_operational_is_the_model_at_the_mean_grid():
    # catransformers-code: operational = E x 30e6 / 3.6e6 x grid / 1000, linear in the one uncertain constant it
    # uses (the grid; delivery efficiency is exactly 1), so its Monte Carlo mean is the model at the triangular
    # mean (low + mode + high) / 3.
    from backend.carbon import scenarios
    from backend.carbon.api import design_inputs
    from backend.carbon.model import evaluate

    d = Design(0.05, 0.0, 0.0, 0.01, 10.0, 22, "lpddr3_20nm", 1.0)
    s = resolve(scenarios.get("catransformers-code"), 22, "lpddr3_20nm")
    (p,) = sample_params([s], 200_000, 5)
    op = evaluate(design_inputs(d), p, s)["operational_dynamic_kg"]
    grid = s.params["grid_g_per_kwh"]
    mean_grid = (grid.low + grid.value + grid.high) / 3
    assert op.mean() == pytest.approx(0.05 * 30e6 / 3.6e6 * mean_grid / 1000, rel=0.005)
