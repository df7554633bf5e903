"""One trial's evaluation: build the hardware (and model) from the knob values, estimate, add carbon, check limits.

The fixed model is lowered to IR once per Evaluator; a trial then costs one ``backend.estimate`` and one carbon
evaluation (milliseconds). The Evaluator pickles, graph included, so Dask workers never lower the model again.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from typing import Any, Mapping

import backend
import ir
from backend.carbon import carbon, scenarios

from .errors import EvaluationError, StudyError
from .store import Trial
from .study import HARDWARE_KNOBS, MODEL_KNOBS, StudySpec

TOP_OPS = 5


def template_values(hw: backend.Hardware) -> dict[str, Any]:
    """The template's value of every hardware knob (what an unsearched knob keeps)."""
    return {"cores": hw.cores, "pe_rows": hw.tensor_unit.pe_rows, "pe_cols": hw.tensor_unit.pe_cols,
            "local_buffer_kb": hw.local_buffer.size_kb, "local_bw_words_per_cycle": hw.local_buffer.bw_words_per_cycle,
            "global_buffer_mb": hw.global_buffer.size_mb,
            "global_bw_words_per_cycle": hw.global_buffer.bw_words_per_cycle, "vector_lanes": hw.vector_unit.lanes,
            "clock_hz": hw.clock_hz, "node_nm": hw.node_nm, "dram_kind": hw.dram.kind, "dram_gb": hw.dram.capacity_gb,
            "dram_bw_words_per_cycle": hw.dram.bw_words_per_cycle}


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

    def __init__(self, study: StudySpec, graph: ir.Graph | None = None):
        self.study = study
        self.template = backend.presets.resolve(study.hardware.template)
        self.scenario = scenarios.get(study.scenario) if isinstance(study.scenario, str) else study.scenario
        self.fixed = {n: v for sec in ("model", "hardware", "schedule") for n, v in study.fixed(sec).items()}
        self._graphs: dict[str, ir.Graph] = {}
        self._fixed_graph = graph
        if study.searches_model:
            raise StudyError("model.knobs: pruned-model search needs a lowering of pruned CLIP variants to IR "
                             "(frontend.clip), which this build does not provide yet; use a fixed model.spec")
        if graph is None:
            import frontend
            self._fixed_graph = frontend.load(study.model.spec, tower=study.model.tower, batch=study.model.batch)
        self.model_bytes = ir.totals(self._fixed_graph).param_bytes
        self.params = ir.totals(self._fixed_graph).param_count

    def base_values(self) -> dict[str, Any]:
        return template_values(self.template)

    # -- pieces --------------------------------------------------------------------------------------------
    def hardware(self, values: Mapping[str, Any]) -> backend.Hardware:
        knobs = {k: values[k] for k in HARDWARE_KNOBS if k in values}
        hw = backend.presets.resolve(self.study.hardware.template)
        if self.study.hardware.template == "catransformers-edge" and "pe_rows" in knobs and "vector_lanes" not in \
                self.study.hardware.knobs:
            knobs["vector_lanes"] = knobs["pe_rows"]       # the edge template pairs one vector lane per PE row
        hw = hw.with_knobs(**knobs) if knobs else hw
        df = values.get("dataflow", "best")
        if df != "best":
            hw = hw.model_copy(update={"tensor_unit": hw.tensor_unit.model_copy(update={"dataflows": (df,)})})
        return hw

    def graph(self, values: Mapping[str, Any]) -> ir.Graph:
        return self._fixed_graph

    def known(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Metrics that follow from the configuration alone (checked before a trial runs)."""
        hw = self.hardware(values)
        return {"area_mm2": hw.area_mm2, "pes": float(hw.pes), "peak_tops": hw.peak_tops, "params": float(self.params)}

    # -- one trial -----------------------------------------------------------------------------------------
    def metrics(self, values: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
        hw = self.hardware(values)
        g = self.graph(values)
        est = backend.estimate(g, hw, target=values.get("mapper", "edp"), fuse=bool(values.get("fusion", True)))
        if not est.feasible:
            raise EvaluationError(f"the backend cannot map {len(est.infeasible)} op(s): {est.infeasible[:3]}")
        rep = carbon(est, self.scenario, model_bytes=self.model_bytes)
        m = {"latency_s": est.latency_s, "energy_j": est.energy_j, "area_mm2": est.area_mm2,
             "peak_tops": est.peak_tops, "pes": float(hw.pes), "macs": float(est.macs),
             "leakage_power_w": est.leakage_power_w, "utilisation": est.utilisation,
             "carbon_kg": rep.total_kg, "embodied_kg": rep.embodied_kg, "operational_kg": rep.operational_kg,
             "carbon_per_inference_kg": rep.total_per_inference_kg, "params": float(self.params)}
        return m, per_op_summary(est)

    def __call__(self, values: Mapping[str, Any], origin: str = "") -> Trial:
        """Evaluate one configuration; failures come back as a Trial with status 'error' and the message."""
        t0 = time.perf_counter()
        full = {**self.base_values(), **self.fixed, **values}
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


__all__ = ["Evaluator", "MODEL_KNOBS", "per_op_summary", "template_values"]
