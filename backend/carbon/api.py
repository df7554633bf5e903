"""The carbon model's entry points: ``carbon(estimate, scenario)`` and the array form ``carbon_batch`` for search."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .design import Design, EstimateLike, apply_overrides, design_from_estimate
from .errors import CarbonError
from .model import COMPONENTS, evaluate, totals
from .report import CarbonReport
from .scenario import Scenario
from .scenarios import load
from .setup import Setup, resolve


def design_inputs(d: Design) -> dict[str, float]:
    return {"energy_j": d.energy_j, "leakage_energy_j": d.leakage_energy_j, "leakage_power_w": d.leakage_power_w,
            "latency_s": d.latency_s, "area_mm2": d.area_mm2, "dram_gb": d.dram_gb}


def prepare(estimate: EstimateLike | Design, scenario: Scenario | str | Path,
            model_bytes: float | None = None) -> tuple[Design, Setup]:
    sc = load(scenario)
    if isinstance(estimate, Design):
        d = apply_overrides(estimate, sc, model_bytes)
    else:
        d = design_from_estimate(estimate, sc, model_bytes)
    return d, resolve(sc, d.node_nm, d.dram_kind)


def check_finite(out: dict[str, np.ndarray], scenario: str) -> None:
    """CarbonError naming the first component that is not a finite number >= 0 (values far outside their range)."""
    for k in (*COMPONENTS, "yield", "cpa_g_per_cm2", "grid_g_per_kwh"):
        v = np.asarray(out[f"{k}_kg" if k in COMPONENTS else k], dtype=float)
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise CarbonError(f"scenario {scenario!r}: {k} comes out as {float(np.ravel(v)[0])!r}, not a finite "
                              "number >= 0; a scenario or design value is far outside its range")


def report_from(d: Design, s: Setup) -> CarbonReport:
    with np.errstate(over="ignore", invalid="ignore"):     # an overflow is reported by check_finite, by name
        out = evaluate(design_inputs(d), s.nominal(), s)
    if not bool(out["feasible"]):
        busy = s.inferences * d.latency_s
        raise CarbonError(f"scenario {s.scenario!r}: {s.inferences:,.0f} inferences x {d.latency_s:.4g} s = "
                          f"{busy:,.0f} s busy exceeds the {s.powered_s:,.0f} s the device is powered, or the die "
                          f"({d.area_mm2:g} mm2) does not fit a wafer; lower the rate or raise active_hours_per_day")
    check_finite(out, s.scenario)
    rep = CarbonReport(
        scenario=s.scenario, design=d, inferences=s.inferences,
        breakdown_kg={k: float(out[f"{k}_kg"]) for k in COMPONENTS},
        yield_=float(out["yield"]), cpa_g_per_cm2=float(out["cpa_g_per_cm2"]),
        grid_g_per_kwh=float(out["grid_g_per_kwh"]), assumptions=tuple(s.params.values()), notes=s.notes)
    if not all(np.isfinite(v) for v in (*rep.per_inference_kg.values(), rep.total_per_inference_kg)):
        raise CarbonError(f"scenario {s.scenario!r}: carbon per inference is not a finite number "
                          f"({s.inferences:.3g} inferences); a scenario or design value is far outside its range")
    return rep


def carbon(estimate: EstimateLike | Design, scenario: Scenario | str | Path,
           model_bytes: float | None = None) -> CarbonReport:
    """Total carbon of one design over its deployment; ``scenario`` is a Scenario, a preset name or a YAML path.

    ``model_bytes`` (the model's weight bytes) is needed only when the scenario sizes DRAM to the weights.
    """
    d, s = prepare(estimate, scenario, model_bytes)
    return report_from(d, s)


def carbon_batch(scenario: Scenario | str | Path, *, energy_j: np.ndarray, latency_s: np.ndarray,
                 area_mm2: np.ndarray, node_nm: int, dram_kind: str, dram_gb: float | np.ndarray,
                 leakage_energy_j: float | np.ndarray = 0.0,
                 leakage_power_w: float | np.ndarray = 0.0) -> dict[str, np.ndarray]:
    """Nominal carbon of many designs at once (arrays broadcast): ``<component>_kg``, ``embodied_kg``,
    ``operational_kg``, ``total_kg`` and ``feasible`` (False: the design cannot serve its inferences; total is inf).

    All designs share one node and DRAM kind (the constants depend on them); the scenario's node/DRAM overrides
    apply as in ``carbon``.
    """
    sc = load(scenario)
    m = sc.manufacturing
    s = resolve(sc, m.node_nm if m.node_nm is not None else node_nm, m.dram.kind or dram_kind)
    if m.dram.capacity == "fixed":
        dram_gb = m.dram.capacity_gb
    elif m.dram.capacity == "weights":
        raise CarbonError("carbon_batch: a scenario that sizes DRAM to the weights needs the size; pass dram_gb "
                          "from backend.carbon.design.dram_capacity_gb and a scenario with capacity: hardware")
    x = {"energy_j": energy_j, "leakage_energy_j": leakage_energy_j, "leakage_power_w": leakage_power_w,
         "latency_s": latency_s, "area_mm2": area_mm2, "dram_gb": dram_gb}
    out = evaluate(x, s.nominal(), s)
    emb, op, tot = totals(out)
    res = {f"{k}_kg": out[f"{k}_kg"] for k in COMPONENTS}
    res["embodied_kg"], res["operational_kg"] = emb, op
    res["total_kg"] = np.where(out["feasible"], tot, np.inf)
    res["feasible"] = out["feasible"]
    return res
