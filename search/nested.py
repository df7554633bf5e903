"""Nested joint search: an outer optimiser proposes model configurations; each one's exact hardware front is computed
by vectorised sweeps over the study's hardware space; the joint front is assembled from (accuracy, hardware front).

Also the exhaustive study: a study without model knobs whose hardware space can be enumerated is evaluated whole.

Storage: every design a model contributes to the joint front is a row (its full configuration and metrics). Rows
that an already stored row dominates are not stored (they can never be on the front; the front and its
hypervolume curve are unchanged), except each model's best design per hardware objective, which records the
model's outer result (what the optimiser was told) so that ``--resume`` re-tells it exactly.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

import ir

from . import metrics as M
from . import proposers as P
from .designs import REFINE_ROUNDS, Designs, HardwareGrid, inner_knobs
from .errors import SearchError
from .pareto import pareto_mask
from .progress import Progress
from .results import Study
from .space import Space
from .store import Store, Trial
from .study import StudySpec

MODEL_ONLY = ("accuracy", "params")      # metrics that depend on the model configuration alone


@dataclass
class ModelResult:
    """One outer trial: a model configuration, the rows of its hardware front, and what was evaluated."""

    values: dict[str, Any]
    rows: list[Trial]
    designs: int = 0
    feasible: int = 0
    eval_s: float = 0.0
    refined: int = 0
    origin: str = ""


def outer_spec(spec: StudySpec) -> StudySpec:
    """The study over its model knobs only; hardware and schedule knobs belong to each model's inner front."""
    inner = set(inner_knobs(spec))
    hw = {k: v for k, v in spec.hardware.knobs.items() if k not in inner}
    sch = {k: v for k, v in spec.schedule.knobs.items() if k not in inner}
    return spec.model_copy(update={
        "hardware": spec.hardware.model_copy(update={"knobs": hw}),
        "schedule": spec.schedule.model_copy(update={"knobs": sch}),
        "forbidden": tuple(c for c in spec.forbidden if not set(c) & inner),
        "constraints": tuple(c for c in spec.constraints if c.metric in MODEL_ONLY and M.get(c.metric).known)})


def hardware_objectives(spec: StudySpec) -> tuple[str, ...]:
    return tuple(o for o in spec.objectives if o not in MODEL_ONLY) or spec.objectives


class NestedEvaluator:
    """Evaluates one model configuration: graphs (parametric template), accuracy, every hardware design, the front.

    Picklable with its hardware grid and tower templates, so Dask workers need neither torch.export nor TVM."""

    def __init__(self, evaluator: Any, grid: HardwareGrid, spec: StudySpec):
        self.ev = evaluator
        self.grid = grid
        self.spec = spec
        self.hw_objectives = hardware_objectives(spec)

    def __call__(self, values: Mapping[str, Any], origin: str = "") -> ModelResult:
        t0 = time.perf_counter()
        worker = f"{socket.gethostname()}:{os.getpid()}"
        values = dict(values)
        try:
            d, refined = self.designs(values)
        except Exception as e:  # a model's failure is data: stored with its message, the study goes on
            msg = str(e) if isinstance(e, ir.CatxError) else "".join(traceback.format_exception_only(e)).strip()
            t = Trial(config=values, status="error", metrics={}, origin=origin, eval_s=time.perf_counter() - t0,
                      worker=worker, error=msg)
            return ModelResult(values, [t], eval_s=t.eval_s, origin=origin)
        dt = time.perf_counter() - t0
        front = d.front(self.hw_objectives)
        idx = list(front) if len(front) else [d.least_violating()]
        rows = [d.trial(int(i), values, origin, dt, worker) for i in idx]
        return ModelResult(values, rows, designs=len(d.points), feasible=int(np.sum(d.status == "ok")), eval_s=dt,
                           refined=refined, origin=origin)

    def designs(self, values: dict[str, Any]) -> tuple[Designs, int]:
        """Every design of the model's hardware space (or the sampled ones, refined around their front)."""
        ev = self.ev
        full = {**ev.base_values(), **ev.fixed, **values}
        g = ev.graph(full)
        model = {"params": ev.params_of(full)}
        if ev.accuracy_fn is not None:
            model["accuracy"] = ev.accuracy(full)
        pb = ir.totals(g).param_bytes
        cut = self.grid.cross_clauses(full)
        pts = [p for p, c in zip(self.grid.points, cut) if not c]
        hws = [h for h, c in zip(self.grid.hardware, cut) if not c]
        d = self.grid.evaluate(g, model, pb, pts, hws)
        refined = 0
        if not self.grid.exhaustive:
            seen = {Space.key(p) for p in d.points}
            for _ in range(REFINE_ROUNDS):
                new = []
                for i in d.front(self.hw_objectives):
                    for q in self.grid.neighbours(d.points[i]):
                        if Space.key(q) not in seen and not _forbidden_for(self.spec, full, q):
                            seen.add(Space.key(q))
                            new.append(q)
                new_pts, new_hws, _ = self.grid.build(new)
                if not new_pts:
                    break
                d = concat(d, self.grid.evaluate(g, model, pb, new_pts, new_hws))
                refined += len(new_pts)
        return d, refined


def _forbidden_for(spec: StudySpec, model_values: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
    full = {**model_values, **point}
    return any(all(full.get(k) == v for k, v in c.items()) for c in spec.forbidden)


def concat(a: Designs, b: Designs) -> Designs:
    off = len(a.points)
    return Designs(points=a.points + b.points, metrics={k: np.concatenate([a.metrics[k], b.metrics[k]])
                                                         for k in a.metrics},
                   status=np.concatenate([a.status, b.status]),
                   violations={k: np.concatenate([a.violations[k], b.violations[k]]) for k in a.violations},
                   errors={**a.errors, **{i + off: e for i, e in b.errors.items()}})


# -- the driver side ---------------------------------------------------------------------------------------------
@dataclass
class JointFront:
    """The stored rows' front in the study's objectives, kept to decide which new rows are worth storing."""

    objectives: tuple[str, ...]
    front: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def cost(self, t: Trial) -> np.ndarray | None:
        return P.cost_vector(self.objectives, t) if t.ok else None

    def add(self, rows: list[Trial]) -> None:
        cs = [c for c in (self.cost(t) for t in rows) if c is not None]
        if not cs:
            return
        f = np.vstack([self.front.reshape(-1, len(self.objectives)), np.array(cs)])
        self.front = f[pareto_mask(f)]

    def dominated(self, c: np.ndarray) -> bool:
        f = self.front.reshape(-1, len(self.objectives))
        return bool(len(f)) and bool(np.any(np.all(f <= c, axis=1) & np.any(f < c, axis=1)))


def select(res: ModelResult, stored: JointFront, hw_objectives: tuple[str, ...]) -> list[Trial]:
    """The rows of a model worth storing: those no stored row dominates, plus its best per hardware objective."""
    ok = [t for t in res.rows if t.ok]
    if not ok:
        return res.rows
    must = {id(min(ok, key=lambda t: M.cost(o, t.metrics[o]))) for o in hw_objectives}
    return [t for t in ok if id(t) in must or not stored.dominated(stored.cost(t))]


def outer_trial(values: Mapping[str, Any], rows: list[Trial], objectives: tuple[str, ...]) -> Trial:
    """What the outer optimiser hears about a model: its accuracy and the best of its front per objective."""
    ok = [t for t in rows if t.ok]
    if ok:
        m = {o: min((t.metrics[o] for t in ok), key=lambda v: M.cost(o, v)) for o in objectives}
        return Trial(config=dict(values), status="ok", metrics=m, eval_s=max(t.eval_s for t in rows))
    t = rows[0]
    return Trial(config=dict(values), status=t.status, metrics=dict(t.metrics), eval_s=t.eval_s, error=t.error)


def model_key(space: Space, config: Mapping[str, Any]) -> str:
    return Space.key({k: config[k] for k in space.knobs if k in config})


def loop(spec: StudySpec, store: Store, evaluator: Any, scheduler: str | None, show: bool) -> Study:
    """Run (or resume) a nested study until ``optimizer.trials`` model configurations have been evaluated."""
    from . import executor as X
    from .engine import MAX_REJECTIONS, promote_models

    t0 = time.perf_counter()
    o = spec.optimizer
    if evaluator.clip is not None:
        evaluator.clip.prepare()                 # templates built here, before the evaluator travels to workers
    grid = HardwareGrid(spec, evaluator, o.inner, o.inner_samples, o.seed)
    ospec = outer_spec(spec)
    space = Space(ospec, evaluator.base_values())
    proposer = P.make(o.kind, space, ospec, store.dir)
    hw_obj = hardware_objectives(spec)
    stored = JointFront(spec.objectives)
    by_model: dict[str, list[Trial]] = {}
    for t in store.trials("low"):
        by_model.setdefault(model_key(space, t.config), []).append(t)
    for rows in by_model.values():
        proposer.tell(outer_trial({k: rows[0].config[k] for k in space.knobs}, rows, spec.objectives))
        stored.add(rows)
    resumed = len(by_model)
    bar = Progress(spec, total=o.trials, enabled=show)
    for rows in by_model.values():
        _show(bar, rows)
    known = [c for c in ospec.constraints]
    counts = {"designs": 0, "feasible": 0, "rows": 0, "refined": 0, "eval_s": 0.0}
    rejected = in_a_row = exhausted = 0
    ex = X.make(NestedEvaluator(evaluator, grid, spec), o.workers, scheduler)
    try:
        while len(by_model) < o.trials:
            while ex.inflight < ex.workers and len(by_model) + ex.inflight < o.trials and not _late(o, t0):
                nxt = proposer.ask()
                if nxt is None:
                    exhausted = 1
                    break
                values, origin = nxt
                if known and any(c.violation(evaluator.known(space.full(values))[c.metric]) > 0 for c in known):
                    proposer.reject(values)
                    rejected += 1
                    in_a_row += 1
                    if in_a_row > MAX_REJECTIONS:
                        raise SearchError(f"{in_a_row} model proposals in a row broke a known constraint")
                    continue
                in_a_row = 0
                ex.submit(values, origin)
            if ex.inflight == 0:
                break
            for res in ex.wait():
                rows = select(res, stored, hw_obj)
                store.add_many(rows)
                stored.add(rows)
                by_model[model_key(space, res.values)] = rows
                proposer.tell(outer_trial(res.values, res.rows, spec.objectives))
                _show(bar, rows)
                for k in ("designs", "feasible", "refined", "eval_s"):
                    counts[k] += getattr(res, k)
                counts["rows"] += len(rows)
    finally:
        ex.close()
        bar.close()
    st = Study.from_store(store)
    promoted = promote_models(spec, store, st, evaluator, space) if spec.fidelity.promote else 0
    n_new = len(by_model) - resumed
    wall = time.perf_counter() - t0
    info = {"wall_s": wall, "mode": "nested", "optimizer": o.kind, "inner": "exhaustive" if grid.exhaustive else
            "sampled", "inner_space_size": grid.size, "inner_designs": len(grid.points),
            "inner_refused_known": grid.refused, "model_evaluations": len(by_model), "resumed_from": resumed,
            "designs_evaluated": counts["designs"] + counts["refined"], "rows_stored": counts["rows"],
            "rejected_pretrial": rejected, "space_exhausted": bool(exhausted), "workers": ex.workers,
            "promoted": promoted, "outer_space_size": space.size(), "trials_per_s": n_new / max(wall, 1e-9),
            "mean_model_eval_s": counts["eval_s"] / max(n_new, 1)}
    store.set_meta("run_info", json.dumps(info))
    return Study.from_store(store, info)


def _late(o: Any, t0: float) -> bool:
    return o.wall_s is not None and time.perf_counter() - t0 > o.wall_s


def _show(bar: Progress, rows: list[Trial]) -> None:
    for i, t in enumerate(rows):
        bar.add(t, advance=1 if i == 0 else 0)


def exhaustive(spec: StudySpec, store: Store, evaluator: Any, show: bool) -> Study:
    """Evaluate every legal design of a study without model knobs; the stored front is the exact front."""
    t0 = time.perf_counter()
    if store.count():                           # one transaction wrote every row: a stored study is complete
        return Study.from_store(store)
    grid = HardwareGrid(spec, evaluator, "exhaustive")
    full = {**evaluator.base_values(), **evaluator.fixed}
    g = evaluator.graph(full)
    model = {"params": evaluator.params_of(full)}
    d = grid.evaluate(g, model, ir.totals(g).param_bytes)
    dt = time.perf_counter() - t0
    front = set(int(i) for i in d.front(spec.objectives))
    rows, worst = [], 0.0
    for i in range(len(d.points)):
        t = d.trial(i, {}, "exhaustive", dt / max(len(d.points), 1))
        if i in front:                          # per-op summaries for the front, from the per-trial path
            m, t.per_op = evaluator.metrics({**full, **d.points[i]})
            worst = max(worst, max(abs(m[k] / t.metrics[k] - 1) for k in spec.objectives if t.metrics[k]))
        rows.append(t)
    store.add_many(rows)
    wall = time.perf_counter() - t0
    info = {"wall_s": wall, "mode": "exhaustive", "optimizer": "exhaustive", "space_size": grid.size,
            "designs_evaluated": len(d.points), "refused_known": grid.refused, "front": len(front),
            "sweep_vs_estimate_max_rel_diff": worst, "resumed_from": 0, "workers": 1,
            "trials_per_s": len(d.points) / max(wall, 1e-9)}
    store.set_meta("run_info", json.dumps(info))
    return Study.from_store(store, info)


def describe(st: Study) -> str:
    """One line saying how a study searched: exhaustive, nested or flat, with its sizes."""
    i = st.info
    mode = i.get("mode", st.spec.optimizer.mode)
    if mode == "exhaustive":
        return (f"exhaustive: the hardware space has {i.get('space_size', 0):,.0f} combinations; "
                f"{i.get('refused_known', 0):,} break a known constraint; all {i.get('designs_evaluated', 0):,} "
                "others evaluated with backend.sweep, so the front is exact (--optimizer smac searches instead)")
    if mode == "nested":
        how = "exact" if i.get("inner") == "exhaustive" else "sampled and refined"
        return (f"nested: {i.get('model_evaluations', 0):,} model configurations proposed by {i.get('optimizer')}; "
                f"per model the {how} hardware front over {i.get('inner_designs', 0):,} designs "
                f"({i.get('designs_evaluated', 0):,} designs evaluated in all, {i.get('wall_s', 0):.0f} s)")
    return f"flat: {len(st.trials):,} trials proposed by {i.get('optimizer', st.spec.optimizer.kind)} over every knob"
