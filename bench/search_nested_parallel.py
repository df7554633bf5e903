"""Nested joint search on 1 vs 2 local Dask workers: wall time for the same number of model configurations.

Each run starts from a cache with the trained benchmark CLIP, its ranking and the parametric templates but no
accuracy results (``search_nested_vs_flat.one_run``), so both pay for every accuracy evaluation; the workers receive
the templates with the evaluator and never lower (no TVM on them).

    python bench/search_nested_parallel.py [--study carbon] [--models 20] [--out FILE]

Results: bench/results/search_nested_parallel.json (header: machine, date, load).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import Run  # noqa: E402
from search_nested_vs_flat import one_run, prepare_cache  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", default="carbon")
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    run = Run("search_nested_parallel")
    warm = prepare_cache(a.study)
    res = {}
    for workers in (1, 2):
        t = time.perf_counter()
        r = one_run(a.study, "nested", a.seed, None, warm, workers, trials=a.models)
        wall = time.perf_counter() - t
        res[workers] = {"wall_s": wall, "models": r["evaluations"], "models_per_min": r["evaluations"] / wall * 60,
                        "search_wall_s": r["info"]["wall_s"], "mean_model_eval_s": r["info"]["mean_model_eval_s"]}
        print(f"{workers} worker(s): {r['evaluations']} models in {wall:.1f} s ({res[workers]['models_per_min']:.1f} "
              f"per minute; mean evaluation {r['info']['mean_model_eval_s']:.2f} s)")
    speedup = res[1]["wall_s"] / res[2]["wall_s"]
    print(f"speed-up with 2 workers: {speedup:.2f}x")
    run.save({"study": a.study, "models": a.models, "runs": res, "speedup_2_workers": speedup}, a.out)


if __name__ == "__main__":
    main()
