"""Parametric lowering: time to fit a tower family, to instantiate random pruned configurations, and to lower them
afresh; every instantiated graph is compared with its fresh lowering (identical, or the bench fails).

    python bench/lowering_parametric.py [--arch ViT-B-16] [--configs 50] [--fresh 3] [--out FILE]

Results: bench/results/lowering_parametric.json (header: machine, date, load). Re-runnable: the fit goes to a
temporary cache so it is timed every run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import Run  # noqa: E402

import ir  # noqa: E402
from frontend.clip import Arch, CLIPConfig, lower_fresh, lower_tower  # noqa: E402
from frontend.clip import parametric as P  # noqa: E402
from frontend.clip.lower import _CACHE  # noqa: E402
from frontend.openclip import create_model  # noqa: E402

PARTS = ("image", "text")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B-16")
    ap.add_argument("--configs", type=int, default=50, help="random configurations instantiated (both towers)")
    ap.add_argument("--fresh", type=int, default=3, help="of which lowered afresh and compared")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    run = Run("lowering_parametric")
    model = create_model(a.arch)
    arch = Arch.of(model, a.arch)
    rng = random.Random(a.seed)
    kv = arch.space().knob_values()
    configs = [CLIPConfig.from_knobs({k: rng.choice(v) for k, v in kv.items()}) for _ in range(a.configs)]
    with tempfile.TemporaryDirectory() as cache:
        fit_s = {}
        for part in PARTS:
            P._TEMPLATES.clear()
            t = time.perf_counter()
            tpl = P.template(model, part, name=a.arch, cache_dir=cache)
            fit_s[part] = time.perf_counter() - t
            assert tpl is not None, f"{a.arch} {part} does not fit a template"
            print(f"{part}: template fitted in {fit_s[part]:.1f} s ({len(tpl.slots)} of {len(tpl.tokens)} "
                  "numbers vary with the knobs)")
        P._TEMPLATES.clear()
        t = time.perf_counter()
        for part in PARTS:
            P.template(model, part, name=a.arch, cache_dir=cache)
        load_s = time.perf_counter() - t
        inst = []
        for cfg in configs:
            t = time.perf_counter()
            for part in PARTS:
                lower_tower(model, cfg, part, name=a.arch, cache_dir=cache)
            inst.append(time.perf_counter() - t)
        fresh, same = [], 0
        for cfg in configs[: a.fresh]:
            for part in PARTS:
                g = lower_tower(model, cfg, part, name=a.arch, cache_dir=cache)
                _CACHE.clear()
                t = time.perf_counter()
                f = lower_fresh(model, cfg, part, name=a.arch)
                fresh.append(time.perf_counter() - t)
                if g != f or ir.to_json(g) != ir.to_json(f):
                    raise SystemExit(f"MISMATCH: {a.arch} {part} {cfg.key()}: instantiated graph != fresh lowering")
                same += 1
    med = statistics.median(inst)
    print(f"instantiation of both towers: median {1e3 * med:.1f} ms, max {1e3 * max(inst):.1f} ms over "
          f"{len(inst)} configurations; template load from disk {1e3 * load_s:.0f} ms")
    print(f"fresh lowering of one tower: median {statistics.median(fresh):.2f} s; {same} graphs compared, all "
          "identical")
    run.save({"arch": a.arch, "configs": len(inst), "fit_s": fit_s, "template_load_s": load_s,
              "instantiate_both_towers_s": {"median": med, "max": max(inst), "min": min(inst), "all": inst},
              "fresh_lowering_one_tower_s": {"median": statistics.median(fresh), "all": fresh},
              "compared_identical": same}, a.out)


if __name__ == "__main__":
    main()
