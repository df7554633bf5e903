"""The operational and embodied equations against hand-derived values; batch equals scalar; break-even."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.carbon import Design, carbon, carbon_batch, scenarios
from backend.carbon.setup import decarbonisation_factor
from tests.carbon.reference import INFERENCES, catx_default_kg
from tests.carbon.test_golden import their_carbon_kg

BASE = dict(lifetime_years=2.0, inferences_per_s=2.0, active_hours_per_day=10.0)


def _scenario(**dep):
    sc = scenarios.get("catx-default")
    counts = {f"deployment.{k}": None for k in ("total_inferences", "inferences_per_day", "inferences_per_s")}
    return sc.replace(**{**counts, **{f"deployment.{k}": v for k, v in dep.items()}})


def test_operational_terms_closed_form(est):
    sc = _scenario(**BASE, idle_policy="retentive", power_delivery_efficiency=0.8,
                   grid={"g_per_kwh": 300.0})
    r = carbon(est, sc)
    n = 2.0 * 10 * 3600 * 365 * 2
    g_per_j = 300.0 / 0.8 / 3.6e6
    assert r.inferences == pytest.approx(n)
    assert r.breakdown_kg["operational_dynamic"] == pytest.approx(n * 0.010 * g_per_j / 1000, rel=1e-12)
    assert r.breakdown_kg["leakage"] == pytest.approx(n * 0.002 * g_per_j / 1000, rel=1e-12)
    idle_s = 10 * 3600 * 365 * 2 - n * est.latency_s
    assert r.breakdown_kg["idle"] == pytest.approx(est.leakage_power_w * idle_s * g_per_j / 1000, rel=1e-12)


def test_power_gated_idle_keeps_a_fraction_of_leakage(est):
    ret = carbon(est, _scenario(**BASE, idle_policy="retentive"))
    gated = carbon(est, _scenario(**BASE, idle_policy="power_gated"))
    off = carbon(est, _scenario(**BASE, idle_policy="none"))
    assert gated.breakdown_kg["idle"] == pytest.approx(0.05 * ret.breakdown_kg["idle"], rel=1e-12)
    assert off.breakdown_kg["idle"] == 0


def test_inferences_per_day_and_total_forms_agree(est):
    a = carbon(est, _scenario(lifetime_years=3, inferences_per_s=1, active_hours_per_day=6, idle_policy="none"))
    b = carbon(est, _scenario(lifetime_years=3, inferences_per_day=21600, active_hours_per_day=6,
                              idle_policy="none"))
    c = carbon(est, _scenario(lifetime_years=3, total_inferences=23_652_000, idle_policy="none"))
    assert a.inferences == b.inferences == c.inferences == pytest.approx(23_652_000)
    assert a.total_kg == pytest.approx(b.total_kg, rel=1e-12) == pytest.approx(c.total_kg, rel=1e-12)


def test_decarbonisation_factor_is_the_lifetime_mean():
    r, years = 0.07, 5.0
    t = np.linspace(0, years, 200_001)
    numeric = np.trapezoid((1 - r) ** t, t) / years
    assert decarbonisation_factor(r, years) == pytest.approx(numeric, rel=1e-9)
    assert decarbonisation_factor(0.0, years) == 1.0


def test_decarbonisation_scales_operational_only(est):
    flat = carbon(est, _scenario(**BASE))
    sc = _scenario(**BASE).replace(**{"deployment.grid": {"region": "california", "decarbonisation_per_year": 0.1}})
    dec = carbon(est, sc)
    f = decarbonisation_factor(0.1, 2.0)
    assert dec.operational_kg == pytest.approx(flat.operational_kg * f, rel=1e-12)
    assert dec.embodied_kg == pytest.approx(flat.embodied_kg, rel=1e-12)


def test_every_part_and_the_total_against_a_hand_computation(est):
    # tests/carbon/reference.py writes catx-default out from the published constants (no backend code or data)
    r = carbon(est, "catx-default")
    ref = catx_default_kg(est.energy_j, est.leakage_j, est.leakage_power_w, est.latency_s, est.area_mm2)
    assert r.inferences == INFERENCES == 23_652_000
    for part, kg in r.breakdown_kg.items():
        assert kg == pytest.approx(float(ref[part]), rel=1e-12), part
    assert r.total_kg == pytest.approx(float(ref["total"]), rel=1e-12)
    assert r.total_kg == pytest.approx(0.58624, abs=5e-6)       # 0.3523 die + 0.0549 DRAM + 0.15 package + ...
    assert r.total_per_inference_kg == pytest.approx(float(ref["total"]) / 23_652_000, rel=1e-12)
    assert r.per_inference_kg["die"] == pytest.approx(float(ref["die"]) / 23_652_000, rel=1e-12)


def test_break_even_is_where_operational_equals_embodied(est):
    sc = _scenario(lifetime_years=3, total_inferences=1e6, idle_policy="none")
    r = carbon(est, sc)
    at = carbon(est, sc.replace(**{"deployment.total_inferences": r.break_even_inferences}))
    assert at.operational_kg == pytest.approx(at.embodied_kg, rel=1e-9)


def test_per_area_packaging(est):
    sc = scenarios.get("catx-default").replace(
        **{"manufacturing.packaging": {"model": "per_area", "package_type": "fcbga", "package_to_die_area_ratio": 4}})
    r = carbon(est, sc)
    assert r.breakdown_kg["package"] == pytest.approx(0.00135 * 4 * est.area_mm2 * 583 / 1000, rel=1e-12)


def test_dram_sized_to_weights(est):
    sc = scenarios.get("catx-default").replace(**{"manufacturing.dram": {"capacity": "weights", "headroom": 0.25}})
    r = carbon(est, sc, model_bytes=150e6)  # 150 MB of INT8 weights x 1.25 -> 0.175 GiB -> one 0.5 GB part
    assert r.design.dram_gb == 0.5
    assert r.breakdown_kg["dram"] == pytest.approx(0.5 * 48 / 0.875 / 1000, rel=1e-12)
    r2 = carbon(est, sc, model_bytes=1.3 * 2**30)  # 1.625 GiB -> 2.0 GB
    assert r2.design.dram_gb == 2.0


def test_batch_against_independent_references():
    # every element of the array form against formulas written out by hand: CATransformers' own (their literal
    # constants, tests/carbon/test_golden.py) and catx-default's (tests/carbon/reference.py)
    rng = np.random.default_rng(1)
    n = 500
    e = rng.uniform(1e-3, 0.1, n)
    lat = rng.uniform(1e-3, 0.05, n)
    area = rng.uniform(1, 300, n)
    leak_p = rng.uniform(0, 0.5, n)
    leak_e = np.minimum(leak_p * lat, e)        # leakage is part of the energy (carbon() refuses more)
    kw = dict(energy_j=e, latency_s=lat, area_mm2=area, node_nm=22, dram_kind="lpddr4", dram_gb=1.0,
              leakage_energy_j=leak_e, leakage_power_w=leak_p)
    theirs = carbon_batch("catransformers-code", **kw)
    np.testing.assert_allclose(theirs["total_kg"], [their_carbon_kg(x - y, a * 1e6) for x, y, a in
                                                    zip(e, leak_e, area)], rtol=1e-12)
    ours = carbon_batch("catx-default", **kw)
    ref = catx_default_kg(e, leak_e, leak_p, lat, area)
    for part in ("die", "dram", "package", "operational_dynamic", "leakage", "idle", "total"):
        np.testing.assert_allclose(ours[f"{part}_kg"], ref[part], rtol=1e-12, err_msg=part)
    # France differs from catx-default only in the use-phase grid: 56 g/kWh instead of California's 224
    fr = carbon_batch("france", **kw)
    np.testing.assert_allclose(fr["operational_kg"], ours["operational_kg"] * 56 / 224, rtol=1e-12)
    np.testing.assert_allclose(fr["embodied_kg"], ours["embodied_kg"], rtol=1e-12)


def test_batch_marks_designs_too_slow_for_the_rate():
    b = carbon_batch("catx-default", energy_j=np.array([0.01, 0.01]), latency_s=np.array([0.5, 1.5]),
                     area_mm2=np.array([10.0, 10.0]), node_nm=22, dram_kind="lpddr4", dram_gb=1.0)
    assert b["feasible"].tolist() == [True, False]
    assert math.isfinite(b["total_kg"][0]) and b["total_kg"][1] == math.inf


def test_other_nodes_use_their_constants():
    d7 = Design(0.01, 0.0, 0.0, 0.01, 50.0, 7, "lpddr4", 1.0)
    sc = scenarios.get("catx-default").replace(**{"manufacturing.gas_abatement": 99,
                                                  "manufacturing.area_accounting": "die"})
    r = carbon(d7, sc)
    y = (1 + 0.5 * 0.10 / 10) ** -10
    assert r.breakdown_kg["die"] == pytest.approx((583 * 2.15 + 200 + 500) * 0.5 / y / 1000, rel=1e-12)


def test_package_is_callable_like_the_function(est):
    import importlib

    pkg = importlib.import_module("backend.carbon")
    assert pkg(est, "taiwan").total_kg == carbon(est, "taiwan").total_kg
    assert pkg.scenarios.get("taiwan").deployment.grid.region == "taiwan"
