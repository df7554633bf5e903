"""The designs a report details, evaluated in full: per-op records and carbon with Monte Carlo bands.

A study stores each trial's metrics and a per-op summary, not every op's schedule; the chosen designs (the best
per objective) are evaluated again here through the study's own Evaluator. The fixed model of a study is lowered
once and kept as IR in ``RUN_DIR/graphs`` so later reports load it in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import backend
import ir
from backend.carbon import CarbonReport, with_uncertainty

from ..results import Study
from ..store import Trial
from ..study import StudySpec

SAMPLES = 20_000          # Monte Carlo samples of the carbon bands (backend.carbon's default)
REL_TOL = 1e-6            # stored and re-evaluated metrics agree this closely unless the backend changed


@dataclass
class Design:
    """One design in full: its knobs, the graph, the estimate (per-op records) and its carbon report."""

    label: str
    values: dict[str, Any]
    graph: ir.Graph
    estimate: backend.Estimate
    carbon: CarbonReport
    trial: Trial | None = None
    notes: list[str] = field(default_factory=list)


def fixed_graph(spec: StudySpec, cache_dir: Path) -> ir.Graph:
    """The study's fixed model as IR, from ``cache_dir`` when a previous report or search saved it."""
    key = hashlib.sha256(json.dumps([spec.model.spec, spec.model.tower, spec.model.batch]).encode()).hexdigest()
    path = cache_dir / f"model-{key[:16]}.json"
    if path.is_file():
        try:
            return ir.load(path)
        except ir.CatxError:
            pass                      # an older IR version: lower again and overwrite
    import frontend
    g = frontend.load(spec.model.spec, tower=spec.model.tower, batch=spec.model.batch)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        ir.save(g, tmp)
        tmp.replace(path)
    except OSError:
        pass                          # a read-only run folder: the report still works, only slower next time
    return g


def evaluator(study: Study):
    """The study's Evaluator, built without lowering the fixed model again when its IR is cached."""
    from ..evaluate import Evaluator
    cache = study.dir / "graphs"
    if study.spec.searches_model:
        return Evaluator(study.spec, cache_dir=cache)
    return Evaluator(study.spec, graph=fixed_graph(study.spec, cache), cache_dir=cache)


def chosen(study: Study) -> list[tuple[str, Trial]]:
    """The best design per objective, a design best on several objectives listed once ("best carbon, energy")."""
    from ..report import label
    by_id: dict[int, tuple[list[str], Trial]] = {}
    for o in study.objectives:
        b = study.best(o)
        if b is not None:
            by_id.setdefault(b.id, ([], b))[0].append(label(o))
    return [("best " + ", ".join(labs), t) for labs, t in by_id.values()]


def _compare(trial: Trial, est: backend.Estimate, rep: CarbonReport) -> list[str]:
    now = {"latency_s": est.latency_s, "energy_j": est.energy_j, "area_mm2": est.area_mm2, "carbon_kg": rep.total_kg}
    out = []
    for k, v in now.items():
        old = trial.metrics.get(k)
        if old is not None and abs(v - old) > REL_TOL * max(abs(old), 1e-30):
            out.append(f"{k}: stored {old:.6g}, re-evaluated {v:.6g} (the backend changed since the study ran; "
                       "the per-op table shows the re-evaluation)")
    return out


def study_designs(study: Study, samples: int = SAMPLES) -> list[Design]:
    """The chosen designs of a study, evaluated in full (same Evaluator, same scenario as the trials)."""
    picks = chosen(study)
    if not picks:
        return []
    ev = evaluator(study)
    out = []
    for lab, t in picks:
        values = ev.full(t.config)
        g, est, model_bytes = ev.design(values)
        rep = with_uncertainty(est, ev.scenario, samples=samples, seed=0, model_bytes=model_bytes)
        out.append(Design(lab, values, g, est, rep, t, _compare(t, est, rep)))
    return out


def estimate_design(graph: ir.Graph, hardware: backend.Hardware, scenario: Any, target: str = "edp",
                    samples: int = SAMPLES, values: Mapping[str, Any] | None = None) -> Design:
    """One model on one hardware (``catx report --estimate``)."""
    est = backend.estimate(graph, hardware, target=target)
    rep = with_uncertainty(est, scenario, samples=samples, seed=0, model_bytes=ir.totals(graph).param_bytes)
    return Design(f"{graph.name} on {hardware.name}", dict(values or {}), graph, est, rep)
