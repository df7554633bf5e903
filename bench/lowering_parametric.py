"""Parametric lowering: time to fit a tower family, to instantiate random pruned configurations (fused, the default,
and unfused), to run ``ir.fuse`` on a tower, and to lower afresh; every instantiated graph is compared with
``ir.fuse`` of its fresh whole lowering (identical, or the bench fails). Wall and CPU time (``time.process_time``:
the machine is shared, so wall time is inflated by other users' load).

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
        for part in PARTS:                                          # the unfused templates, for comparison
            P.template(model, part, name=a.arch, cache_dir=cache, fuse=False)
        inst, inst_cpu, unfused_cpu, fuse_cpu = [], [], [], []
        for cfg in configs:
            t, c = time.perf_counter(), time.process_time()
            for part in PARTS:
                lower_tower(model, cfg, part, name=a.arch, cache_dir=cache)
            inst.append(time.perf_counter() - t)
            inst_cpu.append(time.process_time() - c)
            c = time.process_time()
            towers = [lower_tower(model, cfg, part, name=a.arch, cache_dir=cache, fuse=False) for part in PARTS]
            unfused_cpu.append(time.process_time() - c)
            c = time.process_time()
            for g in towers:
                ir.fuse(g)
            fuse_cpu.append(time.process_time() - c)
        fresh, same = [], 0
        for cfg in configs[: a.fresh]:
            for part in PARTS:
                g = lower_tower(model, cfg, part, name=a.arch, cache_dir=cache)
                _CACHE.clear()
                t = time.perf_counter()
                f = ir.fuse(lower_fresh(model, cfg, part, name=a.arch, fuse=False))
                fresh.append(time.perf_counter() - t)
                if g != f or ir.to_json(g) != ir.to_json(f) or ir.totals(g).macs != ir.totals(f).macs:
                    raise SystemExit(f"MISMATCH: {a.arch} {part} {cfg.key()}: instantiated graph != fresh lowering")
                same += 1
    med, med_cpu = statistics.median(inst), statistics.median(inst_cpu)
    print(f"instantiation of both towers (fused): median {1e3 * med:.1f} ms wall, {1e3 * med_cpu:.1f} ms CPU, max "
          f"{1e3 * max(inst):.1f} ms wall over {len(inst)} configurations; template load from disk "
          f"{1e3 * load_s:.0f} ms")
    print(f"unfused instantiation: median {1e3 * statistics.median(unfused_cpu):.1f} ms CPU; ir.fuse on both "
          f"towers: median {1e3 * statistics.median(fuse_cpu):.1f} ms CPU (paid once per template fit, not per "
          "instantiation)")
    print(f"fresh lowering of one tower: median {statistics.median(fresh):.2f} s; {same} graphs compared, all "
          "identical")
    run.save({"arch": a.arch, "configs": len(inst), "fit_s": fit_s, "template_load_s": load_s,
              "instantiate_both_towers_s": {"median": med, "max": max(inst), "min": min(inst), "all": inst},
              "instantiate_both_towers_cpu_s": {"median": med_cpu, "max": max(inst_cpu), "all": inst_cpu},
              "instantiate_both_towers_unfused_cpu_s": {"median": statistics.median(unfused_cpu)},
              "ir_fuse_both_towers_cpu_s": {"median": statistics.median(fuse_cpu), "max": max(fuse_cpu)},
              "fresh_lowering_one_tower_s": {"median": statistics.median(fresh), "all": fresh},
              "compared_identical": same}, a.out)


if __name__ == "__main__":
    main()
