"""Many hardware designs of one model at once: the study's hardware space enumerated (or sampled), evaluated with
``backend.sweep`` and ``carbon_batch`` under the study's constraints, and reduced to its exact Pareto front.

The values equal the per-trial path (``backend.estimate`` + ``backend.carbon.carbon``; tested); a design the
backend cannot map, or whose deployment the scenario cannot serve, is an error row, never a number.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

import backend
import ir
from backend.carbon import carbon_batch, scenarios
from backend.carbon.design import dram_capacity_gb

from . import metrics as M
from .errors import StudyError
from .pareto import pareto_mask
from .store import Trial
from .study import StudySpec

MAX_ENUMERATED = 100_000     # hardware points enumerated per model; larger spaces are sampled and refined
SAMPLES = 20_000             # points of a sampled hardware space (then refined around its front)
REFINE_ROUNDS = 3            # rounds of neighbour moves around the sampled front
KNOWN_HW = ("pes", "peak_tops", "area_mm2")      # known before a design is evaluated: refused, never evaluated


def inner_knobs(spec: StudySpec) -> list[str]:
    """The searched hardware and schedule knobs (what one model's hardware front ranges over)."""
    return spec.searched("hardware") + spec.searched("schedule")


def grid_size(spec: StudySpec) -> float:
    """Combinations of the searched hardware/schedule knob values (inf when a knob is continuous)."""
    n = 1.0
    for k in spec.knobs():
        if k.name in inner_knobs(spec):
            ch = k.choices()
            n *= math.inf if ch is None else len(ch)
    return n


def sweepable(spec: StudySpec) -> str | None:
    """None when ``backend.sweep`` can evaluate the study's designs; else why not."""
    fus = spec.schedule.knobs.get("fusion", True)
    if fus is not True and fus != [True] and fus != (True,):
        return "schedule.knobs.fusion: the vectorised sweep always fuses elementwise ops into their producer"
    return None


def vector_violation(c, values: np.ndarray) -> np.ndarray:
    """``Constraint.violation`` over an array (0 where met, the relative miss elsewhere)."""
    v = np.zeros(len(values))
    if c.max is not None:
        v = np.where(values > c.max, (values - c.max) / max(abs(c.max), 1e-30), v)
    if c.min is not None:
        v = np.maximum(v, np.where(values < c.min, (c.min - values) / max(abs(c.min), 1e-30), 0.0))
    return v


@dataclass
class Designs:
    """The evaluated designs of one model: knob values, metric arrays, status, violations."""

    points: list[dict[str, Any]]
    metrics: dict[str, np.ndarray]
    status: np.ndarray                                   # "ok" | "infeasible" | "error"
    violations: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)

    def costs(self, objectives: Sequence[str]) -> np.ndarray:
        """(designs, objectives) costs; inf rows for designs that are not ok."""
        c = np.stack([self.metrics[o] if M.METRICS[o].minimize else -self.metrics[o] for o in objectives], axis=1)
        c[self.status != "ok"] = np.inf
        return c

    def front(self, objectives: Sequence[str]) -> np.ndarray:
        """Indices of the feasible designs no other feasible design dominates, best first on the first objective."""
        c = self.costs(objectives)
        idx = np.flatnonzero(np.all(np.isfinite(c), axis=1))
        if len(idx) == 0:
            return idx
        keep = idx[pareto_mask(c[idx])]
        return keep[np.lexsort(c[keep].T[::-1])]

    def least_violating(self) -> int:
        """The design closest to feasible (smallest worst violation; errors last)."""
        worst = np.zeros(len(self.points))
        for v in self.violations.values():
            worst = np.maximum(worst, v)
        worst[self.status == "error"] = np.inf
        return int(np.argmin(worst))

    def trial(self, i: int, config: Mapping[str, Any], origin: str, eval_s: float, worker: str = "") -> Trial:
        m = {k: float(v[i]) for k, v in self.metrics.items()}
        viol = {k: float(v[i]) for k, v in self.violations.items() if v[i] > 0}
        st = str(self.status[i])
        if st == "error":
            m = {}
        return Trial(config={**config, **self.points[i]}, status=st, metrics=m, violations=viol, origin=origin,
                     eval_s=eval_s, worker=worker, error=self.errors.get(i, ""))


class HardwareGrid:
    """The study's hardware/schedule combinations that break no forbidden clause or known hardware constraint,
    each with its ``backend.Hardware`` built once; evaluated for any model with ``evaluate``."""

    def __init__(self, spec: StudySpec, evaluator: Any, inner: str = "auto", samples: int = SAMPLES,
                 seed: int = 0):
        self.spec = spec
        self.ev = evaluator
        self.names = inner_knobs(spec)
        why = sweepable(spec)
        if why:
            raise StudyError(f"{why}; this study needs the per-trial path (optimizer.mode: flat)")
        self.size = grid_size(spec)
        if inner == "exhaustive" and self.size > MAX_ENUMERATED:
            raise StudyError(f"hardware space: {self.size:,.0f} combinations of {', '.join(self.names)} are more than "
                             f"the {MAX_ENUMERATED:,} that can be enumerated per model; drop --exhaustive (the front "
                             "is then sampled and refined) or narrow the knobs")
        self.exhaustive = self.size <= MAX_ENUMERATED and inner != "sampled"
        self.samples = samples
        self.seed = seed
        knobs = {k.name: k for k in spec.knobs()}
        self.choices = {n: list(knobs[n].choices() or ()) for n in self.names}
        combos = itertools.product(*(self.choices[n] for n in self.names)) if self.exhaustive else \
            self._sample(samples)
        self.points, self.hardware, self.refused = self.build([dict(zip(self.names, c)) for c in combos])
        if not self.points:
            raise StudyError("hardware space: forbidden clauses and known constraints leave no design")

    # -- building --------------------------------------------------------------------------------------------
    def _sample(self, n: int) -> list[tuple]:
        rng = random.Random(self.seed)
        seen: set[tuple] = set()
        for _ in range(20 * n):
            if len(seen) >= n:
                break
            seen.add(tuple(rng.choice(self.choices[k]) if self.choices[k] else None for k in self.names))
        return sorted(seen, key=repr)

    def build(self, points: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[backend.Hardware], int]:
        """The points that break no hardware-only forbidden clause or known hardware constraint, their hardware,
        and how many were refused."""
        fixed = {**self.ev.base_values(), **self.ev.fixed}
        searched_model = set(self.spec.searched("model"))
        clauses = [c for c in self.spec.forbidden if not set(c) & searched_model]
        known = [c for c in self.spec.constraints if c.metric in KNOWN_HW]
        out, hws, refused = [], [], 0
        for p in points:
            full = {**fixed, **p}
            if any(all(full.get(k) == v for k, v in c.items()) for c in clauses):
                refused += 1
                continue
            hw = self.ev.hardware(full)
            vals = {"pes": float(hw.pes), "peak_tops": hw.peak_tops, "area_mm2": hw.area_mm2}
            if any(c.violation(vals[c.metric]) > 0 for c in known):
                refused += 1
                continue
            out.append(p)
            hws.append(hw)
        return out, hws, refused

    def cross_clauses(self, model_values: Mapping[str, Any]) -> np.ndarray:
        """Mask of designs a forbidden clause naming model and hardware knobs excludes for this model."""
        mask = np.zeros(len(self.points), dtype=bool)
        searched_model = set(self.spec.searched("model"))
        for c in self.spec.forbidden:
            mk = {k: v for k, v in c.items() if k in searched_model}
            hk = {k: v for k, v in c.items() if k not in mk}
            if mk and all(model_values.get(k) == v for k, v in mk.items()):
                mask |= np.array([all({**model_values, **p}.get(k) == v for k, v in hk.items())
                                  for p in self.points])
        return mask

    # -- evaluating ------------------------------------------------------------------------------------------
    def evaluate(self, graph: ir.Graph, model_metrics: Mapping[str, float], model_bytes: float,
                 points: list[dict[str, Any]] | None = None, hardware: list[backend.Hardware] | None = None
                 ) -> Designs:
        """Every design's metrics for ``graph`` (both towers merged) in vectorised sweeps, grouped by what
        ``sweep``/``carbon_batch`` must share (mapper target, node, DRAM kind)."""
        points = self.points if points is None else points
        hws = self.hardware if hardware is None else hardware
        n = len(points)
        names = ("latency_s", "energy_j", "area_mm2", "peak_tops", "pes", "macs", "leakage_power_w", "utilisation",
                 "carbon_kg", "embodied_kg", "operational_kg", "carbon_per_inference_kg")
        m = {k: np.full(n, np.nan) for k in names}
        ok = np.zeros(n, dtype=bool)
        macs = float(ir.totals(graph).macs)
        fixed = {**self.ev.base_values(), **self.ev.fixed}
        groups: dict[tuple, list[int]] = {}
        for i, (p, hw) in enumerate(zip(points, hws)):
            target = p.get("mapper", fixed.get("mapper", "edp"))
            attention = p.get("attention", fixed.get("attention", "best"))
            groups.setdefault((target, attention, hw.node_nm, hw.dram.kind), []).append(i)
        for (target, attention, _, _), idx in groups.items():
            r = backend.sweep([graph], [hws[i] for i in idx], target=target, attention=attention)
            sc = self.ev.scenario
            gb = np.array([dram_capacity_gb(sc, hws[i].dram.capacity_gb, model_bytes) for i in idx])
            cb = carbon_batch(sc, energy_j=r.energy_j, latency_s=r.latency_s, area_mm2=r.area_mm2,
                              node_nm=hws[idx[0]].node_nm, dram_kind=hws[idx[0]].dram.kind, dram_gb=gb,
                              leakage_power_w=r.leakage_power_w, leakage_energy_j=r.leakage_power_w * r.latency_s)
            good = r.feasible & cb["feasible"] & np.isfinite(cb["total_kg"])
            j = np.array(idx)
            m["latency_s"][j], m["energy_j"][j], m["area_mm2"][j] = r.latency_s, r.energy_j, r.area_mm2
            m["peak_tops"][j], m["leakage_power_w"][j] = r.peak_tops, r.leakage_power_w
            m["pes"][j] = [float(hws[i].pes) for i in idx]
            m["macs"][j] = macs
            with np.errstate(divide="ignore", invalid="ignore"):
                m["utilisation"][j] = np.where(r.latency_s > 0, 2 * macs / r.latency_s / (r.peak_tops * 1e12), 0.0)
            m["carbon_kg"][j], m["embodied_kg"][j] = cb["total_kg"], cb["embodied_kg"]
            m["operational_kg"][j] = cb["operational_kg"]
            m["carbon_per_inference_kg"][j] = cb["total_kg"] / _inferences(sc)
            ok[j] = good
        for k, v in model_metrics.items():
            m[k] = np.full(n, float(v))
        status = np.where(ok, "ok", "error").astype(object)
        errors = {int(i): "the backend cannot map the model on this design, or the scenario cannot serve its "
                  "inferences in the powered time" for i in np.flatnonzero(~ok)}
        viol = {}
        for c in self.spec.constraints:
            if c.metric in m and c.metric not in KNOWN_HW:
                v = vector_violation(c, np.where(ok, m[c.metric], np.nan))
                viol[c.metric] = np.where(ok, v, 0.0)
        bad = np.zeros(n, dtype=bool)
        for v in viol.values():
            bad |= v > 0
        status[ok & bad] = "infeasible"
        return Designs(points=list(points), metrics=m, status=status, violations=viol, errors=errors)

    def neighbours(self, point: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Points one value step away on one knob (the sampled search's local moves)."""
        out = []
        for k in self.names:
            ch = self.choices[k]
            if point[k] not in ch:
                continue
            j = ch.index(point[k])
            for d in (-1, 1):
                if 0 <= j + d < len(ch):
                    out.append({**point, k: ch[j + d]})
        return out


def _inferences(scenario: Any) -> float:
    """Inferences over the deployment under ``scenario`` (what carbon per inference divides by)."""
    return float(scenarios.load(scenario).deployment.inferences)
