"""A study's results: its trials, Pareto front, best design per objective and hypervolume against trial count."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .pareto import hv_curve, pareto_mask
from .store import Store, Trial, open_existing
from .study import StudySpec


@dataclass
class Study:
    """What ``search.run`` returns and ``catx results`` reads: the definition and every stored trial."""

    spec: StudySpec
    dir: Path
    trials: list[Trial]                                   # low fidelity, in finishing order
    high: list[Trial] = field(default_factory=list)       # high-fidelity re-evaluations of promoted trials
    info: dict[str, Any] = field(default_factory=dict)    # run facts: wall time, rejections, workers

    @classmethod
    def load(cls, directory: str | Path) -> "Study":
        st = open_existing(directory)
        try:
            return cls.from_store(st)
        finally:
            st.close()

    @classmethod
    def from_store(cls, store: Store, info: dict[str, Any] | None = None) -> "Study":
        spec = store.study()
        run_info = store.meta_json("run_info", {})
        run_info.update(info or {})
        return cls(spec, store.dir, store.trials("low"), store.trials("high"), run_info)

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def objectives(self) -> tuple[str, ...]:
        return self.spec.objectives

    def metrics_of(self, t: Trial) -> dict[str, float]:
        """Metrics of a trial with its high-fidelity accuracy where one exists."""
        m = dict(t.metrics)
        for h in self.high:
            if h.parent == t.id and h.ok:
                m.update({k: v for k, v in h.metrics.items() if k == "accuracy"})
        return m

    def costs(self) -> np.ndarray:
        """(trials, objectives) costs; rows of inf for trials that failed or missed a constraint."""
        out = np.full((len(self.trials), len(self.objectives)), np.inf)
        for i, t in enumerate(self.trials):
            if t.ok:
                m = self.metrics_of(t)
                out[i] = [M.cost(o, m[o]) for o in self.objectives]
        return out

    def feasible(self) -> list[Trial]:
        return [t for t in self.trials if t.ok]

    def front(self) -> list[Trial]:
        """Feasible trials no other feasible trial dominates, sorted by the first objective."""
        c = self.costs()
        ok = np.all(np.isfinite(c), axis=1)
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return []
        keep = idx[pareto_mask(c[idx])]
        return sorted((self.trials[i] for i in keep), key=lambda t: M.cost(self.objectives[0], t.metrics[
            self.objectives[0]]))

    def best(self, metric: str) -> Trial | None:
        """The feasible trial best on one metric; ties go to the better one on the other objectives in order
        (designs at the PE budget share the minimum latency; the greener of them is the latency-optimal one)."""
        ok = [t for t in self.feasible() if metric in t.metrics]
        if not ok:
            return None
        others = [o for o in self.objectives if o != metric]

        def key(t: Trial) -> tuple:
            m = self.metrics_of(t)
            return (M.cost(metric, m[metric]), *(M.cost(o, m[o]) for o in others if o in m), t.id or 0)
        return min(ok, key=key)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.costs()
        c = c[np.all(np.isfinite(c), axis=1)]
        if len(c) == 0:
            d = len(self.objectives)
            return np.zeros(d), np.ones(d)
        return c.min(axis=0), c.max(axis=0)

    def hypervolume_curve(self, lo: np.ndarray | None = None, hi: np.ndarray | None = None,
                          points: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """Normalised hypervolume of the first k trials (default bounds: this study's feasible range)."""
        if lo is None or hi is None:
            lo, hi = self.bounds()
        return hv_curve(self.costs(), lo, hi, points)

    def counts(self) -> dict[str, int]:
        out = {"trials": len(self.trials), "ok": 0, "infeasible": 0, "error": 0, "high_fidelity": len(self.high)}
        for t in self.trials:
            out[t.status] = out.get(t.status, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-data summary: counts, front, best per objective, final hypervolume."""
        ks, hv = self.hypervolume_curve()
        return {"study": self.spec.name, "objectives": list(self.objectives), "counts": self.counts(),
                "front": [{"id": t.id, "config": t.config, "metrics": self.metrics_of(t)} for t in self.front()],
                "best": {o: (lambda b: b and {"id": b.id, "config": b.config, "metrics": self.metrics_of(b)})(
                    self.best(o)) for o in self.objectives},
                "hypervolume": float(hv[-1]) if len(hv) else 0.0,
                "hypervolume_curve": {"trials": [int(k) for k in ks], "hypervolume": [float(v) for v in hv]},
                "info": self.info}
