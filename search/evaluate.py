"""One trial's evaluation: build the hardware (and model) from the knob values, estimate, add carbon, check limits.

The fixed model is lowered to IR once per Evaluator; a trial then costs one ``backend.estimate`` and one carbon
evaluation (milliseconds). The Evaluator pickles, graph included, so Dask workers never lower the model again.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

import backend
import ir
from backend.carbon import carbon, scenarios

from .checks import check_model
from .errors import EvaluationError, StudyError
from .models import PrunedCLIP, accuracy_function, read_accuracy
from .store import Trial
from .study import HARDWARE_KNOBS, MODEL_KNOBS, StudySpec

TOP_OPS = 5


def template_values(hw: backend.Hardware) -> dict[str, Any]:
    """The template's value of every hardware knob (what an unsearched knob keeps); knobs of levels the template
    does not have are left out."""
    return {k: v for k, v in backend.knobs.knob_values(hw).items() if v is not None}


def per_op_summary(est: backend.Estimate) -> dict[str, Any]:
    """The costliest ops and latency/energy totals by op kind (every repeat counted)."""
    by_kind: dict[str, dict[str, float]] = {}
    for r in est.ops:
        d = by_kind.setdefault(r.kind, {"latency_s": 0.0, "energy_j": 0.0, "ops": 0})
        d["latency_s"] += r.repeat * r.latency_s
        d["energy_j"] += r.repeat * r.energy_j
        d["ops"] += r.repeat
    top = [{"name": r.name, "kind": r.kind, "repeat": r.repeat, "latency_s": r.repeat * r.latency_s,
            "energy_j": r.repeat * r.energy_j, "dataflow": r.schedule.get("dataflow")}
           for r in est.costliest(TOP_OPS)]
    return {"top": top, "by_kind": by_kind, "ops": len(est.ops)}


class Evaluator:
    """Evaluates configurations of one study; construct once, call per trial."""

    def __init__(self, study: StudySpec, graph: ir.Graph | None = None, cache_dir: str | Path | None = None):
        self.study = study
        self.template = backend.presets.resolve(study.hardware.template)
        self.scenario = scenarios.get(study.scenario) if isinstance(study.scenario, str) else study.scenario
        self.fixed = {n: v for sec in ("model", "hardware", "schedule") for n, v in study.fixed(sec).items()}
        self.clip: PrunedCLIP | None = None
        self.accuracy_fn = None
        self._fixed_graph = graph
        if study.needs_accuracy:
            if not study.searches_model:
                raise StudyError("objectives/constraints: accuracy needs model knobs (model.knobs); with a fixed "
                                 "model it does not change")
            self.accuracy_fn = accuracy_function()
            if self.accuracy_fn is None:
                raise StudyError("objectives/constraints: accuracy needs the model evaluator on the built-in CLIP "
                                 "benchmark (frontend.evaluate.evaluate), which this build does not have; drop "
                                 "accuracy or search hardware only")
        if study.searches_model:
            self.clip = PrunedCLIP(study.model.spec, study.model.tower, study.model.batch, cache_dir)
            self._check_model_knobs()
        elif graph is None:
            import frontend
            self._fixed_graph = frontend.load(study.model.spec, tower=study.model.tower, batch=study.model.batch)
        if self._fixed_graph is not None:
            t = ir.totals(self._fixed_graph)
            self.model_bytes, self.params = t.param_bytes, t.param_count
        self.notes: list[str] = []
        searched = {k.name for k in study.knobs()}
        if "attention" in searched and self._fixed_graph is not None and \
                not any(o.kind == ir.OpKind.ATTENTION for o in self._fixed_graph.ops):
            self.notes.append("schedule.knobs.attention has no effect: the model has no fused attention op")
            logging.getLogger("catx").warning(self.notes[-1])

    def _check_model_knobs(self) -> None:
        """Every model knob value builds a configuration inside the base model's pruning space."""
        from frontend.clip import CLIPConfig

        space = self.clip.arch.space()
        check_model(self.study, self.clip.arch.config().knobs(),
                    lambda knobs: space.validate_config(CLIPConfig.from_knobs(knobs)))

    def base_values(self) -> dict[str, Any]:
        return template_values(self.template)

    # -- pieces --------------------------------------------------------------------------------------------
    def hardware(self, values: Mapping[str, Any]) -> backend.Hardware:
        hw = backend.presets.resolve(self.study.hardware.template)
        base = template_values(hw)
        knobs = {k: values[k] for k in values if (k in HARDWARE_KNOBS or "." in k) and base.get(k, None) != values[k]}
        if self.study.hardware.template in ("catransformers-edge", "systolic-edge") and "pe_rows" in knobs and \
                "vector_lanes" not in self.study.hardware.knobs:
            knobs["vector_lanes"] = knobs["pe_rows"]       # the edge template pairs one vector lane per PE row
        hw = hw.with_knobs(**knobs) if knobs else hw
        df = values.get("dataflow", "best")
        if df != "best":
            hw = hw.model_copy(update={"tensor_unit": hw.tensor_unit.model_copy(update={"dataflows": (df,)})})
        return hw

    def graph(self, values: Mapping[str, Any]) -> ir.Graph:
        if self.clip is not None:
            return self.clip.graph(self.clip.config(values))
        return self._fixed_graph

    def params_of(self, values: Mapping[str, Any]) -> float:
        if self.clip is not None:
            return float(self.clip.params(self.clip.config(values)))
        return float(self.params)

    def known(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Metrics that follow from the configuration alone (checked before a trial runs)."""
        full = self.full(values)
        hw = self.hardware(full)
        return {"area_mm2": hw.area_mm2, "pes": float(hw.pes), "peak_tops": hw.peak_tops,
                "params": self.params_of(full)}

    def accuracy(self, values: Mapping[str, Any], high: bool = False) -> float:
        """The model evaluator's accuracy, run on one torch thread: the benchmark CLIP is small, and a second thread
        only spins (measured: 0.4 s of CPU per evaluation on one thread, 9.7 s on two on the loaded 2-core machine)."""
        import torch

        f = self.study.fidelity
        cfg = self.clip.config(values)
        kw = {"evaluator": f.high if high else f.low}
        budget = f.high_budget if high else f.low_budget
        if budget is not None:
            kw["budget"] = budget
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return read_accuracy(self.accuracy_fn(cfg, **kw))
        finally:
            torch.set_num_threads(threads)

    # -- one trial -----------------------------------------------------------------------------------------
    def design(self, values: Mapping[str, Any]) -> tuple[ir.Graph, backend.Estimate, float]:
        """The graph, its estimate on the configuration's hardware, and the model's parameter bytes (what a trial
        and ``catx report``'s per-op tables evaluate)."""
        hw = self.hardware(values)
        g = self.graph(values)
        est = backend.estimate(g, hw, target=values.get("mapper", "edp"), fuse=bool(values.get("fusion", True)),
                               attention=values.get("attention", "best"))
        model_bytes = ir.totals(g).param_bytes if self.clip is not None else self.model_bytes
        return g, est, model_bytes

    def full(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every knob of a configuration: template values, the study's fixed knobs, then the searched values."""
        return {**self.base_values(), **self.fixed, **values}

    def metrics(self, values: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
        _, est, model_bytes = self.design(values)
        hw = est.hardware
        if not est.feasible:
            raise EvaluationError(f"the backend cannot map {len(est.infeasible)} op(s): {est.infeasible[:3]}")
        rep = carbon(est, self.scenario, model_bytes=model_bytes)
        m = {"latency_s": est.latency_s, "energy_j": est.energy_j, "area_mm2": est.area_mm2,
             "peak_tops": est.peak_tops, "pes": float(hw.pes), "macs": float(est.macs),
             "leakage_power_w": est.leakage_power_w, "utilisation": est.utilisation,
             "carbon_kg": rep.total_kg, "embodied_kg": rep.embodied_kg, "operational_kg": rep.operational_kg,
             "carbon_per_inference_kg": rep.total_per_inference_kg, "params": self.params_of(values)}
        if self.accuracy_fn is not None:
            m["accuracy"] = self.accuracy(values)
        return m, per_op_summary(est)

    def high_fidelity(self, values: Mapping[str, Any], parent: int | None, origin: str = "promoted") -> Trial:
        """The expensive accuracy (e.g. after recovery fine-tuning) of a promising configuration."""
        t0 = time.perf_counter()
        full = self.full(values)
        try:
            m = {"accuracy": self.accuracy(full, high=True)}
        except Exception as e:  # stored with its message like any failed trial
            return Trial(config=dict(values), status="error", metrics={}, origin=origin, fidelity="high",
                         parent=parent, eval_s=time.perf_counter() - t0, error=str(e))
        return Trial(config=dict(values), status="ok", metrics=m, origin=origin, fidelity="high", parent=parent,
                     eval_s=time.perf_counter() - t0)

    def __call__(self, values: Mapping[str, Any], origin: str = "") -> Trial:
        """Evaluate one configuration; failures come back as a Trial with status 'error' and the message."""
        t0 = time.perf_counter()
        full = self.full(values)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        try:
            m, per_op = self.metrics(full)
        except Exception as e:  # a trial's failure is data: stored with its message, the study goes on
            msg = str(e) if isinstance(e, ir.CatxError) else "".join(traceback.format_exception_only(e)).strip()
            return Trial(config=dict(values), status="error", metrics={}, origin=origin,
                         eval_s=time.perf_counter() - t0, worker=worker, error=msg)
        viol = {c.metric: v for c in self.study.constraints if c.metric in m and (v := c.violation(m[c.metric])) > 0}
        return Trial(config=dict(values), status="infeasible" if viol else "ok", metrics=m, violations=viol,
                     per_op=per_op, origin=origin, eval_s=time.perf_counter() - t0, worker=worker)


def model_support() -> str | None:
    """None when accuracy can be evaluated (the model side is present); else what is missing."""
    return None if accuracy_function() is not None else "no model evaluator (frontend.evaluate.evaluate)"


__all__ = ["Evaluator", "MODEL_KNOBS", "model_support", "per_op_summary", "template_values"]
