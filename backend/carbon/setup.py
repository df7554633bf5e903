"""Resolve a scenario for one node and DRAM kind: the constants it uses (named, sourced) and its fixed numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import constants
from .constants import Constant
from .errors import CarbonDataError, ScenarioError
from .scenario import Scenario
from .trace import load_trace


@dataclass(frozen=True)
class Setup:
    """Everything but the design: ``params`` maps the model's symbols to the constants chosen for them."""

    scenario: str
    params: dict[str, Constant]
    inferences: float
    powered_s: float
    decarbonisation_factor: float       # lifetime-mean of (1 - r)^t
    idle_policy: str
    include_leakage: bool
    yield_model: str
    area_accounting: str
    packaging_model: str
    package_area_mm2: float | None = None
    package_to_die_area_ratio: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def nominal(self) -> dict[str, float]:
        return {k: c.value for k, c in self.params.items()}


def decarbonisation_factor(rate: float, years: float) -> float:
    """Mean over [0, years] of (1 - rate)^t, the factor on a grid that decarbonises continuously."""
    if rate == 0:
        return 1.0
    k = -math.log1p(-rate)
    return (1.0 - math.exp(-k * years)) / (k * years)


def _node_key(node_nm: int) -> str:
    return str(int(node_nm))


def resolve(scenario: Scenario, node_nm: int, dram_kind: str) -> Setup:
    dep, man = scenario.deployment, scenario.manufacturing
    p: dict[str, Constant] = {}
    notes: list[str] = []

    g = dep.grid
    if g.region is not None:
        p["grid_g_per_kwh"] = constants.lookup("grid", "g_per_kwh", g.region, "deployment.grid.region")
    elif g.g_per_kwh is not None:
        p["grid_g_per_kwh"] = g.g_per_kwh.constant(f"scenario[{scenario.name}].grid_g_per_kwh", "g/kWh")
    else:
        trace = load_trace(scenario.trace_path())
        w = trace.weighted_g_per_kwh(dep.active_start_hour, dep.active_hours_per_day)
        p["grid_g_per_kwh"] = Constant(f"trace[{trace.path}]", w, w, w, "g/kWh",
                                       f"hourly trace {trace.path}, mean over active hours")
        notes.append(f"grid intensity {w:.1f} g/kWh: trace {trace.path} over {len(trace.g_per_kwh)} h, "
                     f"active {dep.active_hours_per_day:g} h/day from hour {dep.active_start_hour:g}")

    if man.fab_g_per_kwh is not None:
        p["fab_g_per_kwh"] = man.fab_g_per_kwh.constant(f"scenario[{scenario.name}].fab_g_per_kwh", "g/kWh")
    else:
        p["fab_g_per_kwh"] = constants.lookup("grid", "g_per_kwh", man.fab_region, "manufacturing.fab_region")

    node = _node_key(node_nm)
    try:
        p["epa"] = constants.lookup("logic", "epa", node, "hardware node_nm")
        p["gpa"] = constants.lookup("logic", f"gpa_{man.gas_abatement}", node, "hardware node_nm")
        p["mpa"] = constants.lookup("logic", "mpa", node, "hardware node_nm")
        if man.yield_model == "negative_binomial":
            p["defect_density"] = constants.lookup("logic", "defect_density", node, "hardware node_nm")
    except CarbonDataError as e:
        raise ScenarioError(f"scenario {scenario.name!r}: no manufacturing data for a {node} nm node ({e})") from None
    if man.yield_model == "negative_binomial":
        p["yield_alpha"] = constants.scalar("logic", "yield_alpha")
    else:
        fy = man.fixed_yield
        p["fixed_yield"] = (fy.constant(f"scenario[{scenario.name}].fixed_yield", "1") if fy is not None
                            else constants.scalar("logic", "fixed_yield"))
    if man.area_accounting == "wafer":
        p["wafer_diameter_mm"] = constants.scalar("logic", "wafer_diameter")

    d = man.dram
    if d.g_per_gb is not None:
        p["dram_g_per_gb"] = d.g_per_gb.constant(f"scenario[{scenario.name}].dram_g_per_gb", "g/GB")
    else:
        try:
            p["dram_g_per_gb"] = constants.lookup("dram", "g_per_gb", dram_kind, "DRAM kind")
        except CarbonDataError as e:
            raise ScenarioError(f"scenario {scenario.name!r}: no embodied-carbon data for DRAM kind {dram_kind!r}; "
                                f"set manufacturing.dram.kind or manufacturing.dram.g_per_gb ({e})") from None
    p["dram_yield"] = (d.dram_yield.constant(f"scenario[{scenario.name}].dram_yield", "1") if d.dram_yield is not None
                       else constants.scalar("dram", "dram_yield"))

    pk = man.packaging
    if pk.model == "per_ic":
        p["package_g"] = (pk.per_ic_g.constant(f"scenario[{scenario.name}].package_g", "g") if pk.per_ic_g is not None
                          else constants.scalar("packaging", "per_ic"))
    elif pk.model == "per_area":
        p["package_kwh_per_mm2"] = constants.lookup("packaging", "epa_package", pk.package_type.lower())

    pde = dep.power_delivery_efficiency
    p["power_delivery_efficiency"] = (
        pde.constant(f"scenario[{scenario.name}].power_delivery_efficiency", "1") if pde is not None
        else constants.scalar("operation", "power_delivery_efficiency"))
    if dep.idle_policy == "power_gated":
        p["gated_leakage_fraction"] = constants.scalar("operation", "gated_leakage_fraction")

    return Setup(
        scenario=scenario.name, params=p, inferences=dep.inferences, powered_s=dep.powered_s,
        decarbonisation_factor=decarbonisation_factor(g.decarbonisation_per_year, dep.lifetime_years),
        idle_policy=dep.idle_policy, include_leakage=dep.include_leakage, yield_model=man.yield_model,
        area_accounting=man.area_accounting, packaging_model=pk.model, package_area_mm2=pk.package_area_mm2,
        package_to_die_area_ratio=pk.package_to_die_area_ratio, notes=tuple(notes))
