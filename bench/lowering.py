"""Lowering CLIP ViT-B/16's towers: MACs, ops stored and executed, and the time of each stage.

    python bench/lowering.py [--repeats 3] [--out bench/results/lowering.json]

Per tower: building the open_clip model, torch.export, TVM Relax import (from_exported_program), the Relax->IR
conversion and layer folding, each timed (median of --repeats runs in one process, after one warm-up), and
``frontend.load("openclip:ViT-B-16", tower=...)`` end to end in a fresh process (what a user's first call costs).
Each stage records wall time (``*_s``) and the process's CPU time (``*_cpu_s``): on a shared machine the CPU time is
the steadier figure (the stages are single-threaded Python for the most part).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import Run  # noqa: E402

FRESH = ("import json, sys, time; t0, c0 = time.perf_counter(), time.process_time(); import frontend, ir; "
         "g = frontend.load('openclip:ViT-B-16', tower=sys.argv[1]); "
         "print(json.dumps({'load_s': time.perf_counter() - t0, 'load_cpu_s': time.process_time() - c0, "
         "'macs': ir.totals(g).macs}))")


def stages(tower: str) -> dict:
    import torch
    from tvm.relax.frontend.torch import from_exported_program

    import ir
    from frontend.openclip import create_model, tower_modules
    from frontend.relax_to_ir import relax_to_ir

    t = {}

    def timed(name, fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        t[f"{name}_s"], t[f"{name}_cpu_s"] = time.perf_counter() - w, time.process_time() - c
        return out

    model = timed("build_model", lambda: create_model("ViT-B-16"))
    module, inputs = tower_modules(model, tower)[tower]
    module = module.eval()
    with torch.no_grad():
        ep = timed("torch_export", lambda: torch.export.export(module, inputs))
    mod = timed("relax_import", lambda: from_exported_program(ep, keep_params_as_input=True))
    g = timed("ir_conversion", lambda: ir.fold_repeats(relax_to_ir(mod, f"ViT-B-16.{tower}")))
    tot = ir.totals(g)
    counts = {"macs": tot.macs, "vector_ops": tot.vector_ops, "params": tot.param_count, "ops_stored": tot.stored_ops,
              "ops_executed": tot.ops, "block_ops": [len(b.ops) for b in g.blocks],
              "block_repeats": [b.repeat for b in g.blocks]}
    return {"times": t, "counts": counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("lowering")
    res = {}
    for tower in ("image", "text"):
        fresh = json.loads(subprocess.run([sys.executable, "-c", FRESH, tower], cwd=ROOT, check=True,
                                          capture_output=True, text=True).stdout.strip().splitlines()[-1])
        stages(tower)                                                   # warm-up: imports, TVM's first use
        runs = [stages(tower) for _ in range(a.repeats)]
        counts = runs[0]["counts"]
        assert all(r["counts"] == counts for r in runs)
        med = {k: statistics.median(r["times"][k] for r in runs) for k in runs[0]["times"]}
        for unit in ("s", "cpu_s"):
            med[f"lowering_{unit}"] = sum(med[f"{k}_{unit}"] for k in ("torch_export", "relax_import", "ir_conversion"))
        res[tower] = {**counts, "median_s": med, "runs_s": [r["times"] for r in runs],
                      "fresh_process": fresh}
        print(tower, json.dumps(res[tower]["median_s"]), counts, fresh, flush=True)
    run.save({"repeats": a.repeats, **res}, a.out)


if __name__ == "__main__":
    main()
