"""Who proposes the next configuration: SMAC (multi-objective, ParEGO) or seeded random search, same interface.

Both see every finished trial through ``tell`` (also the ones read back on ``--resume``) and never propose a
configuration twice; known constraints live in the ConfigSpace, so neither ever proposes a violating point.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import metrics as M
from .space import Space
from .store import Trial
from .study import StudySpec


def cost_vector(objectives: tuple[str, ...], trial: Trial) -> np.ndarray | None:
    """The trial's objectives as costs (maximised metrics negated); None when it has no metrics."""
    if trial.status == "error" or not all(o in trial.metrics for o in objectives):
        return None
    return np.array([M.cost(o, trial.metrics[o]) for o in objectives], dtype=float)


class RandomProposer:
    """Uniform samples of the ConfigSpace (forbidden clauses respected), seeded, without repeats."""

    name = "random"

    def __init__(self, space: Space, seed: int):
        self.space = space
        self.cs = space.cs
        self.cs.seed(seed)
        self.seen: set[str] = set()

    def ask(self) -> tuple[dict[str, Any], str] | None:
        for _ in range(10_000):
            v = self.space.values(self.cs.sample_configuration())
            k = Space.key(v)
            if k not in self.seen:
                self.seen.add(k)
                return v, "random"
        return None                           # the space is (nearly) exhausted

    def tell(self, trial: Trial) -> None:
        self.seen.add(Space.key(trial.config))

    def reject(self, values: Mapping[str, Any]) -> None:
        self.seen.add(Space.key(values))


def _fast_selector():
    from smac.main.config_selector import ConfigSelector

    class FastConfigSelector(ConfigSelector):
        """SMAC's selector with the incumbent prediction batched: one predict over all evaluated points instead
        of one call per point (the same minimum; ~30% of SMAC's time at 400 trials)."""

        def _get_x_best(self, X: np.ndarray) -> tuple[np.ndarray, float]:
            mean, _ = self._model.predict_marginalized(X)
            i = int(np.argmin(mean[:, 0]))
            return X[i], float(mean[i, 0])

    return FastConfigSelector


class SmacProposer:
    """SMAC 2 with a random-forest surrogate, EI and ParEGO scalarisation, driven through ask/tell.

    Trials are deterministic and run once, so SMAC's intensifier (racing repeated runs, ~40% of its time in
    linear searches over rejected configurations) has nothing to do: configurations come straight from its
    configuration selector, and results go straight into its run history.
    """

    name = "smac"

    def __init__(self, space: Space, objectives: tuple[str, ...], n_trials: int, seed: int, workdir: Path,
                 initial_design: int | None = None, retrain_after: int = 8, random_probability: float = 0.2):
        from smac import HyperparameterOptimizationFacade as HPO
        from smac import Scenario
        from smac.model.random_forest import RandomForest
        from smac.multi_objective.parego import ParEGO

        self.space = space
        self.objectives = objectives
        multi = len(objectives) > 1
        sc = Scenario(space.cs, deterministic=True, objectives=list(objectives) if multi else "cost",
                      n_trials=max(10 * n_trials, 1000), seed=seed, output_directory=Path(workdir) / "smac")
        # n_jobs=1 and no leaf cap: SMAC's defaults (all cores, max_leaf_nodes=2**20) make each refit allocate
        # huge trees and spin joblib workers, 10x slower on a 2-core machine for the same forest.
        model = RandomForest(space.cs, log_y=True, n_trees=10, ratio_features=1.0, min_samples_split=2,
                             min_samples_leaf=1, seed=seed, n_jobs=1, max_leaf_nodes=None)
        init = HPO.get_initial_design(sc, n_configs=initial_design) if initial_design else \
            HPO.get_initial_design(sc, n_configs=min(max(10, n_trials // 10), 10 * len(space.knobs)))
        self.smac = HPO(sc, lambda config, seed=0: 0.0, model=model, initial_design=init,
                        intensifier=HPO.get_intensifier(sc, max_config_calls=1),
                        random_design=HPO.get_random_design(sc, probability=random_probability),
                        multi_objective_algorithm=ParEGO(sc, seed=seed) if multi else None,
                        config_selector=_fast_selector()(sc, retrain_after=retrain_after),
                        overwrite=True, logging_level=logging.ERROR)
        # SMAC dedups local-search start points through a set, so their order (and the proposals) followed
        # PYTHONHASHSEED; sorting them by their text makes a seed reproduce a run in any process.
        ls = self.smac._acquisition_maximizer._local_search
        unordered = ls._get_init_points_from_previous_configs
        ls._get_init_points_from_previous_configs = lambda *a, **k: sorted(unordered(*a, **k), key=repr)
        self.pending: dict[str, Any] = {}          # config key -> TrialInfo asked and not yet told
        self.worst: np.ndarray | None = None
        self.seen: set[str] = set()
        self.fallback = RandomProposer(space, seed + 7919)

    def ask(self) -> tuple[dict[str, Any], str] | None:
        from smac.runhistory.dataclasses import TrialInfo
        for _ in range(100):
            try:
                cfg = next(self.smac.intensifier.config_generator)
                info = TrialInfo(config=cfg, seed=0)
            except StopIteration:           # SMAC found no new configuration: continue with unseen random ones
                info = None
            if info is None:
                nxt = self.fallback.ask()
                if nxt is None:
                    return None
                v = nxt[0]
                info = TrialInfo(config=self.space.configuration(v), seed=0)
                origin = "random"
            else:
                v = self.space.values(info.config)
                origin = (info.config.origin or "smac").split(":")[0].lower().replace(" ", "-")
            k = Space.key(v)
            if k in self.seen:
                continue
            self.seen.add(k)
            self.fallback.seen.add(k)
            self.pending[k] = info
            return v, origin
        return None

    def _penalised(self, cost: np.ndarray | None, feasible: bool) -> np.ndarray | None:
        if cost is not None and feasible:
            return cost
        if self.worst is None:
            return cost
        return self.worst.copy() if cost is None else np.maximum(cost, self.worst)

    def tell(self, trial: Trial) -> None:
        from smac.runhistory.dataclasses import TrialInfo
        k = Space.key(trial.config)
        self.seen.add(k)
        self.fallback.seen.add(k)
        info = self.pending.pop(k, None) or TrialInfo(config=self.space.configuration(trial.config), seed=0)
        cost = cost_vector(self.objectives, trial)
        if cost is not None:
            self.worst = cost.copy() if self.worst is None else np.maximum(self.worst, cost)
        c = self._penalised(cost, trial.ok)
        if c is None:
            return
        self._add(info, c, float(trial.eval_s))

    def _add(self, info, cost: np.ndarray, time_s: float = 0.0) -> None:
        self.smac.runhistory.add(config=info.config, cost=list(map(float, cost)) if len(cost) > 1 else float(cost[0]),
                                 time=time_s, seed=info.seed, force_update=True)

    def reject(self, values: Mapping[str, Any]) -> None:
        """A configuration refused before running (a known constraint): SMAC hears it is as bad as the worst."""
        k = Space.key(values)
        info = self.pending.pop(k, None)
        if info is not None and self.worst is not None:
            self._add(info, self.worst)


def make(kind: str, space: Space, spec: StudySpec, workdir: Path) -> "RandomProposer | SmacProposer":
    """``kind`` is "smac" (also for "auto") or "random"; both draw their seed and settings from ``spec.optimizer``."""
    o = spec.optimizer
    if kind == "random":
        return RandomProposer(space, o.seed)
    return SmacProposer(space, spec.objectives, o.trials, o.seed, workdir, o.initial_design, o.retrain_after,
                        o.random_probability)
