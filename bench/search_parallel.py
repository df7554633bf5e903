"""Parallel trials: the same model-knob study (each new CLIP variant is pruned and lowered, seconds per trial)
inline and on a local Dask cluster of N workers, same seed and budget (run by hand).

    python bench/search_parallel.py [--trials 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from provenance import Run  # bench/provenance.py (bench/ is on sys.path when run as a script)

import search


def study(trials: int, workers: int) -> dict:
    knobs = {"text_ffn": [1024, 1536, 2048], "vision_ffn": [1536, 2304, 3072], "vision_width": [384, 576, 768]}
    return {"name": "parallel-bench", "model": {"spec": "openclip:ViT-B-16", "tower": "both", "knobs": knobs},
            "hardware": {"knobs": {"pe_cols": [8, 16]}}, "objectives": ["carbon_kg", "latency_s"],
            "optimizer": {"kind": "random", "trials": trials, "seed": 0, "workers": workers}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("search_parallel")
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in (1, a.workers):
            t = time.perf_counter()
            st = search.run(study(a.trials, w), out=Path(tmp) / f"w{w}")
            walls[w] = time.perf_counter() - t
            print(f"workers={w}: {len(st.trials)} trials in {walls[w]:.1f} s "
                  f"(sum of trial times {sum(x.eval_s for x in st.trials):.1f} s)")
    print(f"speed-up with {a.workers} workers: {walls[1] / walls[a.workers]:.2f}x")
    run.save({"trials": a.trials, "workers": a.workers, "wall_s": {str(w): s for w, s in walls.items()},
              "speedup": walls[1] / walls[a.workers]}, a.out)


if __name__ == "__main__":
    main()
