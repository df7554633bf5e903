"""Invalid scenarios, traces and estimates give typed errors that name the file, field and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from backend.carbon import CarbonError, Design, Scenario, ScenarioError, TraceError, carbon, scenarios
from ir.errors import CatxError

GOOD = {
    "name": "t",
    "deployment": {"lifetime_years": 3, "inferences_per_s": 1, "active_hours_per_day": 6,
                   "grid": {"region": "california"}},
}


def _write(tmp_path, doc, name="s.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


def _with(path: str, value):
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    node = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return doc


def test_good_scenario_loads(tmp_path):
    sc = Scenario.from_yaml(_write(tmp_path, GOOD))
    assert sc.deployment.inferences == pytest.approx(23_652_000)


@pytest.mark.parametrize("path, value, match", [
    ("deployment.lifetime_years", -1, r"deployment\.lifetime_years: Input should be greater than 0"),
    ("deployment.grid.region", "atlantis",
     r"deployment\.grid\.region: unknown region 'atlantis'; allowed: .*california"),
    ("manufacturing.fab_region", "mars", r"manufacturing\.fab_region: unknown fab_region 'mars'"),
    ("deployment.idle_policy", "sleepy", r"deployment\.idle_policy: Input should be 'none', 'power_gated'"),
    ("deployment.active_hours_per_day", 25, r"active_hours_per_day: Input should be less than or equal to 24"),
    ("deployment.power_delivery_efficiency", 1.2, r"power_delivery_efficiency must lie in \(0, 1\]"),
    ("deployment.inferences_per_day", 10, r"exactly one of total_inferences, inferences_per_day"),
    ("deployment.grid.g_per_kwh", 100, r"exactly one of region, g_per_kwh, trace"),
    ("manufacturing.dram.kind", "hbm9", r"unknown DRAM kind 'hbm9'; allowed: .*lpddr4"),
    ("manufacturing.gas_abatement", 90, r"gas_abatement: Input should be 95 or 99"),
    ("manufacturing.lifetime", 3, r"manufacturing\.lifetime: Extra inputs are not permitted"),
    ("manufacturing.packaging", {"model": "per_area"}, r"exactly one of package_area_mm2"),
    ("manufacturing.dram", {"capacity": "fixed"}, r"capacity: fixed needs capacity_gb"),
    ("manufacturing.dram", {"dram_yield": 1.5}, r"dram_yield must lie in \(0, 1\]"),
    ("manufacturing.dram", {"g_per_gb": {"value": 10, "low": -1}}, r"g_per_gb must be >= 0"),
    ("manufacturing.packaging", {"per_ic_g": -5}, r"per_ic_g must be >= 0"),
    ("deployment.grid", {"g_per_kwh": -3}, r"g_per_kwh must be >= 0"),
    ("deployment.grid", {"region": "france", "decarbonisation_per_year": 1.0}, r"less than 1"),
])
def test_invalid_scenarios_name_file_and_field(tmp_path, path, value, match):
    p = _write(tmp_path, _with(path, value))
    with pytest.raises(ScenarioError, match=match) as ei:
        Scenario.from_yaml(p)
    assert str(p) in str(ei.value)
    assert isinstance(ei.value, CatxError)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml: no such scenario file"):
        Scenario.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        Scenario.from_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        Scenario.from_yaml(lst)


def test_unknown_preset_lists_presets():
    with pytest.raises(ScenarioError, match="unknown scenario preset 'mars'; presets: .*paper-california"):
        scenarios.get("mars")


def test_unknown_node_is_a_clear_error(est):
    d = Design(0.01, 0.0, 0.0, 0.01, 10.0, 45, "lpddr4", 1.0)
    with pytest.raises(ScenarioError, match=r"no manufacturing data for a 45 nm node .*allowed: 3, 5, 7"):
        carbon(d, "catx-default")


def test_unknown_hardware_dram_kind(est):
    d = Design(0.01, 0.0, 0.0, 0.01, 10.0, 22, "gddr6", 1.0)
    with pytest.raises(ScenarioError, match=r"no embodied-carbon data for DRAM kind 'gddr6'.*dram\.g_per_gb"):
        carbon(d, "catx-default")
    sc = scenarios.get("catx-default").replace(**{"manufacturing.dram": {"g_per_gb": {"value": 100, "low": 80,
                                                                                       "high": 150,
                                                                                       "source": "vendor LCA"}}})
    assert carbon(d, sc).breakdown_kg["dram"] == pytest.approx(100 / 0.875 / 1000)


def test_rate_too_high_for_latency(est):
    slow = dataclasses.replace(est, latency_s=1.5)  # 1 inference/s cannot be served at 1.5 s each
    with pytest.raises(CarbonError, match="busy exceeds"):
        carbon(slow, "catx-default")


@pytest.mark.parametrize("field, value, match", [
    ("latency_s", 0.0, "latency_s must be > 0"),
    ("area_mm2", float("nan"), "area_mm2 must be a finite number"),
    ("leakage_j", 1.0, r"energy_by_component_j\['leakage'\]"),
])
def test_bad_estimates(est, field, value, match):
    with pytest.raises(CarbonError, match=match):
        carbon(dataclasses.replace(est, **{field: value}), "catx-default")


def test_weights_sizing_needs_model_bytes(est):
    sc = scenarios.get("catx-default").replace(**{"manufacturing.dram": {"capacity": "weights"}})
    with pytest.raises(CarbonError, match="model_bytes"):
        carbon(est, sc)


# --- traces ---

def _trace(tmp_path, header, rows, name="trace.csv"):
    p = tmp_path / name
    p.write_text("\n".join([header] + rows) + "\n")
    return p


def _hours(n, start="2024-01-01T00:00:00Z", fmt=lambda i: 100 + i % 24):
    from datetime import datetime, timedelta
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return [f"{(t0 + timedelta(hours=i)).isoformat()},{fmt(i)}" for i in range(n)]


def _trace_scenario(tmp_path, trace_name, **dep):
    doc = _with("deployment.grid", {"trace": trace_name})
    doc["deployment"].update(dep)
    return Scenario.from_yaml(_write(tmp_path, doc))


def test_trace_weighted_by_active_hours(tmp_path, est):
    _trace(tmp_path, "timestamp,g_per_kwh", _hours(48))
    sc = _trace_scenario(tmp_path, "trace.csv", active_start_hour=8)  # active 08:00-14:00 -> 108..113
    r = carbon(est, sc)
    assert r.grid_g_per_kwh == pytest.approx(sum(range(108, 114)) / 6)
    sc24 = _trace_scenario(tmp_path, "trace.csv", active_hours_per_day=24, inferences_per_s=0.1)
    assert carbon(est, sc24).grid_g_per_kwh == pytest.approx(sum(range(100, 124)) / 24)


def test_trace_window_wraps_midnight(tmp_path, est):
    _trace(tmp_path, "hour,gco2_per_kwh", [f"{i},{100 + i % 24}" for i in range(72)])
    sc = _trace_scenario(tmp_path, "trace.csv", active_start_hour=22, active_hours_per_day=4)
    assert carbon(est, sc).grid_g_per_kwh == pytest.approx((122 + 123 + 100 + 101) / 4)


@pytest.mark.parametrize("header, rows, match", [
    ("timestamp,g_per_kwh", _hours(10) + _hours(30, start="2024-01-01T11:00:00Z")[:30],
     r"trace\.csv:12: timestamp .* is 2:00:00 after the previous one; the trace must be hourly with no gaps"),
    ("timestamp,kg_per_kwh", _hours(48), r"intensity column 'kg_per_kwh' is not in g/kWh"),
    ("timestamp,intensity", _hours(48), r"intensity column 'intensity' is not in g/kWh"),
    ("timestamp,g_per_kwh", _hours(48, fmt=lambda i: 400000), r"implausible for g/kWh .* g/MWh"),
    ("timestamp,g_per_kwh", _hours(5) + ["2024-01-01T05:00:00Z,"] + _hours(30)[6:],
     r"trace\.csv:7: missing intensity value \(a gap\)"),
    ("timestamp,g_per_kwh", _hours(48, fmt=lambda i: -1), r"must be a finite number >= 0"),
    ("timestamp,g_per_kwh", _hours(10), r"10 hourly samples; a trace needs at least 24"),
    ("hour,g_per_kwh", [f"{i},100" for i in range(10)] + [f"{i},100" for i in range(11, 40)],
     r"trace\.csv:12: hour 11 follows hour 9"),
    ("when,g_per_kwh", _hours(48), r"header must be two columns"),
])
def test_bad_traces(tmp_path, est, header, rows, match):
    _trace(tmp_path, header, rows)
    sc = _trace_scenario(tmp_path, "trace.csv")
    with pytest.raises(TraceError, match=match):
        carbon(est, sc)


def test_missing_trace_file(tmp_path, est):
    sc = _trace_scenario(tmp_path, "missing.csv")
    with pytest.raises(TraceError, match="missing.csv: no such grid trace"):
        carbon(est, sc)


def test_infeasible_estimate_is_refused(est):
    est.feasible = False
    est.infeasible = ["qkv: needs 2 MB local buffer"]
    with pytest.raises(CarbonError, match="estimate is infeasible.*qkv"):
        carbon(est, "catx-default")
