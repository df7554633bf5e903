"""SMAC's own cost per trial: stock SMAC 2.4 facade (ask/tell through the intensifier, default random forest)
against CATX's SmacProposer (configuration selector driven directly, one batched incumbent prediction, a
single-threaded forest without the 2**20 leaf cap), on the same space and a table-lookup objective so only the
optimiser is timed (run by hand).

    python bench/search_smac_overhead.py [--trials 300] [--out bench/results/search_smac_overhead.json]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from provenance import Run  # noqa: E402

import search
from search.proposers import SmacProposer
from search.space import Space
from search.store import Trial


def objective(v: dict) -> np.ndarray:
    """A cheap deterministic 3-objective function of the edge knobs (only its speed matters here)."""
    pes = v["cores"] * v["pe_rows"] * v["pe_cols"]
    lat = 1e9 / pes * (1 + 64 / v["local_bw_words_per_cycle"]) / v["global_buffer_mb"] ** 0.1
    area = pes * 1e-3 + v["local_buffer_kb"] * v["cores"] * 1e-2 + v["global_buffer_mb"]
    return np.array([area + lat * 0.1, lat, area * lat * 0.01])


def stock(space: Space, n: int, workdir: Path) -> tuple[float, float]:
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario
    from smac.multi_objective.parego import ParEGO
    from smac.runhistory.dataclasses import TrialValue
    sc = Scenario(space.cs, deterministic=True, n_trials=n, objectives=["a", "b", "c"], seed=0,
                  output_directory=workdir / "stock")
    smac = HPO(sc, lambda config, seed=0: 0.0, multi_objective_algorithm=ParEGO(sc),
               intensifier=HPO.get_intensifier(sc, max_config_calls=1),
               initial_design=HPO.get_initial_design(sc, n_configs=min(max(10, n // 10), 60)),
               overwrite=True, logging_level=logging.ERROR)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        info = smac.ask()
        smac.tell(info, TrialValue(cost=list(objective(space.values(info.config)))), save=False)
    return time.perf_counter() - t, time.process_time() - c


def ours(space: Space, n: int, workdir: Path) -> tuple[float, float]:
    p = SmacProposer(space, ("a", "b", "c"), n, 0, workdir / "ours")
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        v, origin = p.ask()
        c = objective(v)
        p.tell(Trial(config=v, status="ok", metrics=dict(zip("abc", c))))
    return time.perf_counter() - t, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("search_smac_overhead")
    import search.metrics as M
    for name in "abc":       # three throwaway minimised metrics for the proposer's cost vector
        M.METRICS.setdefault(name, M.Metric(name, "-", True, False, "bench objective"))
    spec = search.load("hardware-only")
    space = Space(spec, {"clock_hz": 5e8})
    with tempfile.TemporaryDirectory() as tmp:
        (s, s_cpu), (o, o_cpu) = stock(space, a.trials, Path(tmp)), ours(space, a.trials, Path(tmp))
    print(f"{a.trials} trials of SMAC alone: stock facade {s:.1f} s ({1e3 * s / a.trials:.0f} ms/trial), "
          f"CATX proposer {o:.1f} s ({1e3 * o / a.trials:.0f} ms/trial): {s / o:.1f}x faster")
    run.save({"trials": a.trials, "stock_facade_s": s, "catx_proposer_s": o, "stock_ms_per_trial": 1e3 * s / a.trials,
              "catx_ms_per_trial": 1e3 * o / a.trials, "ratio": s / o, "stock_facade_cpu_s": s_cpu,
              "catx_proposer_cpu_s": o_cpu, "ratio_cpu": s_cpu / o_cpu}, a.out)


if __name__ == "__main__":
    main()
