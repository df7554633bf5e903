"""Scenarios hold finite numbers only, and a carbon report never holds NaN, inf or a negative number."""

from __future__ import annotations

import math

import pytest
import yaml

import backend
import frontend
from backend.carbon import CarbonError, ScenarioError, carbon, with_uncertainty
from backend.carbon.scenario import Scenario


@pytest.fixture(scope="module")
def est():
    return backend.estimate(frontend.gemm_graph(64, 64, 64), backend.presets.get("catransformers-edge"))


def _scenario(tmp_path, deployment: dict) -> Scenario:
    p = tmp_path / "sc.yaml"
    p.write_text(yaml.safe_dump({"name": "t", "deployment": {"grid": {"region": "california"}, **deployment}}))
    return Scenario.from_yaml(p)


@pytest.mark.parametrize("field,value", [("lifetime_years", math.inf), ("lifetime_years", math.nan),
                                         ("inferences_per_s", math.inf), ("active_hours_per_day", math.nan)])
def test_non_finite_scenario_numbers_are_refused(tmp_path, field, value):
    """Old code: lifetime .inf loaded and the report printed `total nan`."""
    dep = {"lifetime_years": 3, "inferences_per_s": 1, field: value}
    with pytest.raises(ScenarioError, match=f"deployment.{field}: Input should be a finite number"):
        _scenario(tmp_path, dep)


def test_overflowing_lifetime_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="lifetime_years 1e\\+306 with this inference rate overflows"):
        _scenario(tmp_path, {"lifetime_years": 1e306, "inferences_per_s": 1})


def test_non_finite_quantities_are_refused(tmp_path):
    p = tmp_path / "q.yaml"
    p.write_text(yaml.safe_dump({"name": "q", "deployment": {"lifetime_years": 3, "inferences_per_s": 1,
                                                            "grid": {"g_per_kwh": {"value": 100, "high": math.inf}}}}))
    with pytest.raises(ScenarioError, match="g_per_kwh.high: Input should be a finite number"):
        Scenario.from_yaml(p)


def _numbers(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _numbers(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _numbers(v)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield x


def test_report_numbers_are_finite_and_non_negative(tmp_path, est):
    """No operational carbon (a zero-carbon grid): break-even is 'never', not inf, in the text and the JSON."""
    sc = Scenario.from_dict({"name": "clean", "deployment": {"lifetime_years": 3, "inferences_per_s": 1,
                                                             "idle_policy": "none", "include_leakage": False,
                                                             "grid": {"g_per_kwh": 0}}})
    rep = carbon(est, sc)
    assert rep.operational_kg == 0 and rep.embodied_kg > 0
    nums = list(_numbers(rep.to_dict()))
    assert nums and all(math.isfinite(v) and v >= 0 for v in nums)
    assert rep.to_dict()["break_even_inferences"] is None
    assert "break-even never" in rep.format() and "inf" not in rep.format().split()


def test_extreme_but_finite_design_is_caught(est):
    """A design whose carbon overflows to inf is a CarbonError, not a report with inf in it."""
    import dataclasses

    from backend.carbon.design import design_from_estimate
    sc = Scenario.from_dict({"name": "x", "deployment": {"lifetime_years": 3, "total_inferences": 1e300,
                                                         "grid": {"region": "california"}}})
    d = dataclasses.replace(design_from_estimate(est, sc), energy_j=1e300, latency_s=1e-300)
    with pytest.raises(CarbonError, match="not a finite number >= 0"):
        carbon(d, sc)


def test_monte_carlo_bounds(est):
    with pytest.raises(CarbonError, match="seed must be"):
        with_uncertainty(est, "catx-default", samples=10, seed=-1)
    with pytest.raises(CarbonError, match="samples must lie in 1..10,000,000"):
        with_uncertainty(est, "catx-default", samples=10**9, seed=0)


def test_design_leakage_beyond_its_energy_is_refused(est):
    """A Design handed to carbon() directly used to give negative dynamic operational carbon."""
    import dataclasses

    from backend.carbon.design import design_from_estimate
    sc = Scenario.from_dict({"name": "x", "deployment": {"lifetime_years": 3, "inferences_per_s": 1,
                                                         "grid": {"region": "california"}}})
    d = design_from_estimate(est, sc)
    with pytest.raises(CarbonError, match="leakage_energy_j = .* exceeds its energy_j"):
        carbon(dataclasses.replace(d, leakage_energy_j=2 * d.energy_j), sc)
    with pytest.raises(CarbonError, match="design field latency_s must be a finite number >= 0"):
        carbon(dataclasses.replace(d, latency_s=-1.0), sc)
