"""The metrics a trial reports: name, unit, whether lower is better, and whether it is known before a trial runs.

Objectives and constraints of a study name metrics from this table. A metric that is "known" depends only on
the configuration (hardware size, model size), so a constraint on it is enforced before a trial runs; the
others are outcomes of the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    minimize: bool
    known: bool          # computable from the configuration alone, before any evaluation
    what: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("carbon_kg", "kgCO2e", True, False, "total carbon over the deployment (embodied + operational)"),
    Metric("carbon_per_inference_kg", "kgCO2e", True, False, "total carbon divided by the inferences served"),
    Metric("embodied_kg", "kgCO2e", True, False, "embodied carbon (die, DRAM, package)"),
    Metric("operational_kg", "kgCO2e", True, False, "operational carbon over the deployment"),
    Metric("latency_s", "s", True, False, "latency of one inference"),
    Metric("energy_j", "J", True, False, "energy of one inference (leakage included)"),
    Metric("accuracy", "fraction", False, False, "accuracy of the (pruned) model on the built-in benchmark"),
    Metric("area_mm2", "mm2", True, True, "die area of the accelerator"),
    Metric("pes", "MACs/cycle", True, True, "processing elements: cores x PE rows x PE columns"),
    Metric("peak_tops", "TOPS", True, True, "peak tensor throughput, 2 ops per MAC per cycle"),
    Metric("params", "count", True, True, "model parameters"),
    Metric("macs", "count", True, False, "multiply-accumulates of one inference"),
)}


def get(name: str, where: str = "metric") -> Metric:
    from .errors import StudyError
    if name not in METRICS:
        raise StudyError(f"{where}: unknown metric {name!r} (allowed: {', '.join(METRICS)})")
    return METRICS[name]


def cost(name: str, value: float) -> float:
    """The value as a cost to minimise (maximised metrics are negated)."""
    return float(value) if METRICS[name].minimize else -float(value)
