"""Nested vs flat joint search at equal wall time: hypervolume against seconds, over several seeds.

Both modes run the same paper-mode study (default ``carbon-latency``: accuracy, carbon, latency over all 8 model
knobs and 6 edge hardware knobs of CLIP ViT-B/16, proxy accuracy on the built-in benchmark) with the same time
budget and SMAC initial design. Each run starts from a cache holding the trained benchmark CLIP, its importance
ranking and the parametric lowering templates, but no accuracy results, so neither mode profits from the other's
evaluations. Hypervolume is normalised over the feasible range of all runs together (reference 1.1 per objective).

    python bench/search_nested_vs_flat.py [--study carbon-latency] [--seeds 5] [--wall-s 120] [--out FILE]

Results: bench/results/search_nested_vs_flat.json (header: machine, date, load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import Run  # noqa: E402

import search  # noqa: E402
from frontend.clip.cache import cache_root  # noqa: E402
from search.pareto import hypervolume, normalise  # noqa: E402

WARM = ("proxy", "rankings", "lowering")        # cache folders every run starts with (never "accuracy")
INITIAL_DESIGN = 20      # Sobol points before SMAC's model, both modes (the budget is time, not a trial count)


def prepare_cache(study: str) -> Path:
    """Train the benchmark CLIP, rank it and fit the templates once, in the shared cache."""
    t = time.perf_counter()
    search.run(study, out=Path(tempfile.mkdtemp()) / "warm", trials=1, kind="random")
    print(f"shared cache ready in {time.perf_counter() - t:.1f} s")
    return cache_root()


def one_run(study: str, mode: str, seed: int, wall_s: float | None, warm: Path, workers: int = 1,
            trials: int = 10**6) -> dict:
    """One study from a copy of the warm cache (no accuracy results); rows with their finishing times."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for sub in WARM:
            if (warm / sub).is_dir():
                shutil.copytree(warm / sub, cache / sub)
        old = os.environ.get("CATX_CACHE")
        os.environ["CATX_CACHE"] = str(cache)
        try:
            t0 = time.time()
            spec = search.load(study).with_options(initial_design=INITIAL_DESIGN)
            st = search.run(spec, out=Path(tmp) / "run", seed=seed, mode=mode, trials=trials, wall_s=wall_s,
                            workers=workers)
        finally:
            if old is None:
                os.environ.pop("CATX_CACHE", None)
            else:
                os.environ["CATX_CACHE"] = old
    return {"mode": mode, "seed": seed, "costs": st.costs().tolist(),
            "t_s": [t.finished_at - t0 for t in st.trials], "info": st.info,
            "evaluations": st.info.get("model_evaluations", len(st.trials)), "front": len(st.front())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", default="carbon-latency")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--wall-s", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--points", type=int, default=12, help="time checkpoints")
    ap.add_argument("--out")
    a = ap.parse_args()
    run = Run("search_nested_vs_flat")
    warm = prepare_cache(a.study)
    runs = []
    for seed in range(a.seeds):
        for mode in ("nested", "flat"):
            r = one_run(a.study, mode, seed, a.wall_s, warm, a.workers)
            runs.append(r)
            print(f"{mode:6s} seed {seed}: {r['evaluations']} evaluations in {a.wall_s:.0f} s, front {r['front']}")
    allc = np.vstack([np.array(r["costs"]).reshape(-1, len(search.load(a.study).objectives)) for r in runs])
    allc = allc[np.all(np.isfinite(allc), axis=1)]
    lo, hi = allc.min(axis=0), allc.max(axis=0)
    ref = np.full(len(lo), 1.1)
    ts = np.linspace(a.wall_s / a.points, a.wall_s, a.points)
    for r in runs:
        c, t = np.array(r["costs"]).reshape(-1, len(lo)), np.array(r["t_s"])
        r["hv"] = [hypervolume(normalise(c[(t <= x) & np.all(np.isfinite(c), axis=1)], lo, hi), ref) for x in ts]
        del r["costs"]
    summary = {}
    for mode in ("nested", "flat"):
        hv = np.array([r["hv"] for r in runs if r["mode"] == mode])
        ev = [r["evaluations"] / a.wall_s * 60 for r in runs if r["mode"] == mode]
        summary[mode] = {"hv_mean": hv.mean(axis=0).tolist(), "hv_std": hv.std(axis=0).tolist(),
                         "evaluations_per_min": float(np.mean(ev)),
                         "designs_per_min": float(np.mean([r["info"].get("designs_evaluated", r["evaluations"])
                                                           / a.wall_s * 60 for r in runs if r["mode"] == mode]))}
    wins = sum(n["hv"][-1] > f["hv"][-1] for n, f in zip(runs[0::2], runs[1::2]))
    print("\nhypervolume (normalised, ref 1.1) vs wall time, mean +- std over seeds:")
    for i, x in enumerate(ts):
        n, f = summary["nested"], summary["flat"]
        print(f"  {x:6.0f} s: nested {n['hv_mean'][i]:.4f} +- {n['hv_std'][i]:.4f}   "
              f"flat {f['hv_mean'][i]:.4f} +- {f['hv_std'][i]:.4f}")
    print(f"nested: {summary['nested']['evaluations_per_min']:.1f} model configurations/min "
          f"({summary['nested']['designs_per_min']:,.0f} designs/min); flat: "
          f"{summary['flat']['evaluations_per_min']:.1f} trials/min; nested ahead on {wins} of {a.seeds} seeds")
    run.save({"study": a.study, "seeds": a.seeds, "wall_s": a.wall_s, "workers": a.workers, "t_s": ts.tolist(),
              "bounds": {"lo": lo.tolist(), "hi": hi.tolist()}, "summary": summary, "nested_wins": int(wins),
              "runs": runs}, a.out)


if __name__ == "__main__":
    main()
