"""The built-in CLIP benchmark, measured: training time and test scores of the base model, and the accuracy table
of pruned configurations without and with recovery (what ``catx proxy train`` and ``catx proxy table`` print).

    python bench/proxy_benchmark.py [--steps 300] [--budget 100] [--out bench/results/proxy_benchmark.json]

Everything runs in a fresh temporary cache, so the base model is trained from scratch and every ranking and
recovery is recomputed. A GPU is used when torch sees one (store that run with --out ..._gpu.json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from provenance import Run  # noqa: E402

from frontend.clip import Arch, CLIPConfig, params  # noqa: E402
from frontend.evaluate import evaluate  # noqa: E402
from frontend.proxy import bench, model  # noqa: E402
from search.commands.proxy import TABLE  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=bench.DEFAULT_STEPS)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("proxy_benchmark")
    res: dict = {"steps": a.steps, "budget": a.budget, "device": str(bench.device()),
                 "threads": torch.get_num_threads(), "train_n": bench.TRAIN_N, "test_n": bench.TEST_N}
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        bench.split("train", bench.TRAIN_N)
        res["data_s"] = time.perf_counter() - t0                   # drawing the 20,000 training scenes
        t0 = time.perf_counter()
        m = bench.train(a.steps, cache)
        res["train_s"] = time.perf_counter() - t0                  # the training itself (and saving the checkpoint)
        res["test"], res["chance"] = bench.score(m), bench.chance()
        print(f"trained {a.steps} steps in {res['train_s']:.1f} s (+ data {res['data_s']:.1f} s): {res['test']}")
        arch = Arch.of(model.build())
        full = arch.config()
        rows = []
        t0 = time.perf_counter()
        for name, knobs in TABLE.items():
            cfg = CLIPConfig(text=full.text.model_copy(update=knobs), vision=full.vision.model_copy(update=knobs))
            plain = evaluate(cfg, "proxy", 0, cache, a.steps)
            rec = evaluate(cfg, "proxy", a.budget, cache, a.steps) if knobs else plain
            rows.append({"configuration": name, "params": params(arch, cfg), "macs": plain["macs"],
                         "zero_shot": plain["zero_shot_acc"], "r1": plain["r1"], "r5": plain["r5"],
                         "zero_shot_recovered": rec["zero_shot_acc"], "r1_recovered": rec["r1"],
                         "recovery_steps": rec["recovery_steps"]})
            print(rows[-1], flush=True)
        res["table_s"] = time.perf_counter() - t0                  # the evaluations, rankings and recovery
        res["table"], res["base"] = rows, {"text": full.text.model_dump(), "vision": full.vision.model_dump()}
        res["evaluations"] = 1 + 2 * (len(rows) - 1)                # full once, every other row with and without
    run.save(res, a.out)


if __name__ == "__main__":
    main()
