"""The hardware-only CLIP ViT-B/16 study of 1,000 trials on the edge template, timed (run by hand).

Reports the time to lower the model once, the search's wall time and trials/s, and the paper's direction: the
carbon-optimal design against the latency-optimal one (carbon, latency, die area).

    python bench/search_hardware_only.py [--trials 1000] [--workers 1] [--out bench/results/search_hardware_only.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from provenance import Run  # bench/provenance.py (bench/ is on sys.path when run as a script)

import frontend
import search
from search.evaluate import Evaluator
from search.flagship import direction


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("search_hardware_only")
    spec = search.load("hardware-only").with_options(trials=a.trials, workers=a.workers, seed=a.seed)
    t = time.perf_counter()
    graph = frontend.load(spec.model.spec, tower=spec.model.tower)
    lower_s = time.perf_counter() - t
    ev = Evaluator(spec, graph=graph)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        st = search.run(spec, out=tmp, evaluator=ev)
        wall = time.perf_counter() - t
    d = direction(st)
    eval_s = sum(x.eval_s for x in st.trials)
    res = {"trials": len(st.trials), "workers": a.workers, "cpus": os.cpu_count(), "lower_s": lower_s,
           "search_wall_s": wall, "trials_per_s": len(st.trials) / wall, "evaluation_s": eval_s,
           "optimizer_overhead_s": wall - eval_s if a.workers == 1 else None, "counts": st.counts(),
           "front": len(st.front()), "direction": d}
    print(f"lowered CLIP ViT-B/16 (both towers) in {lower_s:.1f} s")
    print(f"{len(st.trials)} trials in {wall:.1f} s ({res['trials_per_s']:.1f} trials/s; evaluation {eval_s:.1f} s, "
          f"the rest SMAC); {st.counts()}; front {res['front']} designs")
    for k in ("carbon_optimal", "latency_optimal"):
        x = d[k]
        print(f"{k:16s} {x['carbon_kg']:.3f} kg  {x['latency_s'] * 1e3:.1f} ms  {x['energy_j'] * 1e3:.2f} mJ  "
              f"{x['area_mm2']:.2f} mm2  {x['config']}")
    print(f"carbon-optimal: {100 * d['carbon_saving']:.0f}% less carbon, {d['area_ratio']:.1f}x smaller die, "
          f"{d['latency_ratio']:.1f}x the latency of the latency-optimal design")
    run.save(res, a.out)


if __name__ == "__main__":
    main()
