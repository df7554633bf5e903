"""The search loop: propose, reject what breaks a known constraint, evaluate (in parallel), persist, learn.

``run(study)`` is the Python entry point; each finished trial is written to the store before the optimiser hears
of it, so killing the process loses at most the trials still running.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import executor as X
from . import metrics as M
from . import nested
from . import proposers as P
from .checks import check
from .errors import SearchError, StudyError
from .progress import Progress
from .results import Study
from .space import CLOSED_FORM, Space
from .store import Store, Trial
from .study import StudySpec, load

MAX_REJECTIONS = 20_000      # refused proposals in a row before the study gives up


def default_out(spec: StudySpec) -> Path:
    return Path("runs") / f"{spec.name}-{spec.optimizer.kind}-s{spec.optimizer.seed}"


def plan(spec: StudySpec) -> StudySpec:
    """The study with every ``auto`` of its optimizer resolved (what is stored and what runs):

    * mode: ``nested`` when model and hardware knobs are both searched (and the sweep can evaluate the designs),
      else ``flat``;
    * kind: ``exhaustive`` for a study without searched model knobs whose hardware space has at most
      ``designs.MAX_ENUMERATED`` combinations, else ``smac``;
    * inner (nested only): ``exhaustive`` up to ``designs.MAX_ENUMERATED`` hardware combinations, else ``sampled``.
    An explicit choice that cannot hold is a StudyError naming why (e.g. the size of a space too large to enumerate).
    """
    from .designs import MAX_ENUMERATED, grid_size, inner_knobs, sweepable

    o = spec.optimizer
    model, inner = spec.searched("model"), inner_knobs(spec)
    why, size = sweepable(spec), grid_size(spec)
    mode = o.mode
    if mode == "auto":
        mode = "nested" if model and inner and why is None else "flat"
    elif mode == "nested" and not (model and inner):
        raise StudyError("optimizer.mode: nested needs searched model knobs and searched hardware/schedule knobs")
    elif mode == "nested" and why:
        raise StudyError(f"optimizer.mode: nested: {why}")
    kind = o.kind
    if kind == "exhaustive":
        if model:
            raise StudyError("optimizer.kind: exhaustive enumerates studies without searched model knobs; in a "
                             "joint study each model's hardware front is enumerated with optimizer.inner: exhaustive "
                             "(--exhaustive)")
        if why:
            raise StudyError(f"optimizer.kind: exhaustive: {why}")
        if size > MAX_ENUMERATED:
            raise StudyError(f"optimizer.kind: exhaustive: the hardware space has {size:,.0f} combinations of "
                             f"{', '.join(inner)}, more than the {MAX_ENUMERATED:,} that can be enumerated; use smac "
                             "or random")
    elif kind == "auto":
        kind = "exhaustive" if not model and inner and why is None and size <= MAX_ENUMERATED else "smac"
    inner_mode = o.inner
    if mode == "nested":
        if inner_mode == "exhaustive" and size > MAX_ENUMERATED:
            raise StudyError(f"optimizer.inner: exhaustive: the hardware space has {size:,.0f} combinations of "
                             f"{', '.join(inner)}, more than the {MAX_ENUMERATED:,} that can be enumerated per model; "
                             "drop --exhaustive (each front is then sampled and refined) or narrow the knobs")
        if inner_mode == "auto":
            inner_mode = "exhaustive" if size <= MAX_ENUMERATED else "sampled"
    return spec.model_copy(update={"optimizer": o.model_copy(update={"kind": kind, "mode": mode,
                                                                     "inner": inner_mode})})


def run(study: StudySpec | str | Path | dict, *, out: str | Path | None = None, resume: bool = False,
        trials: int | None = None, workers: int | None = None, seed: int | None = None, kind: str | None = None,
        scheduler: str | None = None, progress: bool = False, evaluator: Any = None, mode: str | None = None,
        exhaustive: bool | None = None, wall_s: float | None = None) -> Study:
    """Run (or, with ``resume``, continue) a study; return its results. Options override the study's optimizer."""
    spec = plan(check(load(study).with_options(trials=trials, workers=workers, seed=seed, kind=kind, mode=mode,
                                               exhaustive=exhaustive, wall_s=wall_s)))
    out = Path(out) if out is not None else default_out(spec)
    store = Store(out)
    try:
        store.begin(spec, resume)
        if evaluator is None:
            from .evaluate import Evaluator
            evaluator = Evaluator(spec, cache_dir=out / "graphs")
        if spec.optimizer.kind == "exhaustive":
            return nested.exhaustive(spec, store, evaluator, progress)
        if spec.optimizer.mode == "nested":
            return nested.loop(spec, store, evaluator, scheduler, progress)
        space = Space(spec, evaluator.base_values())
        return _loop(spec, store, space, evaluator, scheduler, progress)
    finally:
        store.close()


def _loop(spec: StudySpec, store: Store, space: Space, evaluator: Any, scheduler: str | None,
          show: bool) -> Study:
    t0 = time.perf_counter()
    o = spec.optimizer
    done = store.trials("low")
    resumed = len(done)
    proposer = P.make(o.kind, space, spec, store.dir)
    for t in done:
        proposer.tell(t)
    bar = Progress(spec, total=o.trials, enabled=show)
    for t in done:
        bar.add(t)
    rejected = exhausted = in_a_row = 0
    # known constraints the space could not express as forbidden clauses are checked here, before evaluation
    known = [c for c in spec.constraints if M.get(c.metric).known and (c.metric not in CLOSED_FORM
                                                                       or c in space.pretrial)]
    ex = X.make(evaluator, o.workers, scheduler)
    try:
        while len(done) < o.trials:
            while ex.inflight < ex.workers and len(done) + ex.inflight < o.trials and not nested._late(o, t0):
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
                        raise SearchError(f"{in_a_row} proposals in a row broke a known constraint "
                                          f"({', '.join(c.metric for c in known)}); they leave (almost) nothing")
                    continue
                in_a_row = 0
                ex.submit(values, origin)
            if ex.inflight == 0:
                break
            for t in ex.wait():
                _judge(spec, t)
                store.add(t)
                done.append(t)
                proposer.tell(t)
                bar.add(t)
    finally:
        ex.close()
        bar.close()
    promoted = _promote(spec, store, Study.from_store(store), evaluator) if spec.fidelity.promote else 0
    info = {"wall_s": time.perf_counter() - t0, "mode": "flat", "promoted": promoted, "resumed_from": resumed,
            "rejected_pretrial": rejected,
            "space_exhausted": bool(exhausted), "workers": ex.workers, "optimizer": o.kind,
            "space_size": space.size(), "trials_per_s": (len(done) - resumed) / max(time.perf_counter() - t0, 1e-9)}
    store.set_meta("run_info", json.dumps(info))
    return Study.from_store(store, info)


def _promote(spec: StudySpec, store: Store, st: Study, evaluator: Any) -> int:
    """Multi-fidelity: the front's most accurate designs get the expensive evaluation (once each, resumable)."""
    done = {t.parent for t in st.high}
    todo = [t for t in sorted(st.front(), key=lambda t: -t.metrics.get("accuracy", 0.0)) if t.id not in done]
    n = 0
    for t in todo[: max(0, spec.fidelity.promote - len(done))]:
        store.add(evaluator.high_fidelity(t.config, parent=t.id))
        n += 1
    return n


def promote_models(spec: StudySpec, store: Store, st: Study, evaluator: Any, space: Space) -> int:
    """Nested multi-fidelity: the front's most accurate model configurations get the expensive accuracy, once
    per model, recorded against each of the model's stored rows (resumable: a model with high rows is done)."""
    from .nested import model_key

    rows: dict[str, list[Trial]] = {}
    for t in st.trials:
        rows.setdefault(model_key(space, t.config), []).append(t)
    ids = {t.id: t for t in st.trials}
    done = {model_key(space, ids[h.parent].config) for h in st.high if h.parent in ids}
    order = []
    for t in sorted(st.front(), key=lambda t: -t.metrics.get("accuracy", 0.0)):
        k = model_key(space, t.config)
        if k not in order:
            order.append(k)
    n = 0
    for k in [k for k in order if k not in done][: max(0, spec.fidelity.promote - len(done))]:
        first = rows[k][0]
        h = evaluator.high_fidelity(first.config, parent=first.id)
        store.add_many([Trial(config=t.config, status=h.status, metrics=dict(h.metrics), origin=h.origin,
                              fidelity="high", parent=t.id, eval_s=h.eval_s, error=h.error) for t in rows[k]])
        n += 1
    return n


def _judge(spec: StudySpec, t: Trial) -> None:
    """Status from this study's constraints (the evaluator may have been built for another)."""
    if t.status == "error":
        return
    t.violations = {c.metric: v for c in spec.constraints if c.metric in t.metrics
                    and (v := c.violation(t.metrics[c.metric])) > 0}
    t.status = "infeasible" if t.violations else "ok"


def hypervolumes(studies: list[Study], points: int = 50) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hypervolume curves of several runs of one study, normalised over their common range (for comparisons)."""
    cs = [s.costs() for s in studies]
    allc = np.vstack([c[np.all(np.isfinite(c), axis=1)] for c in cs]) if cs else np.zeros((0, 1))
    lo, hi = allc.min(axis=0), allc.max(axis=0)
    return [s.hypervolume_curve(lo, hi, points) for s in studies]
