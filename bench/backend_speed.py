"""Backend speed on CLIP ViT-B/16 (both towers): a cold design point and the 3,240-point edge sweep.

Usage: python bench/backend_speed.py [--templates catransformers-edge,systolic-edge] [--frontend]

Per template, each measurement in a fresh process (so "cold" means cold: mapper tables and fronts built from
scratch): (1) one new design point, both towers; (2) 40 new configurations after it (shapes seen, schedules not);
(3) ``backend.sweep`` over the whole 3,240-point CATransformers edge space. CPU time of the process (single-threaded
numpy) is reported beside wall time, since the machine may be shared; results go to bench/results/backend_speed.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "backend_speed.json"


def graphs(use_frontend: bool):
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "backend")]
    if use_frontend:
        import frontend
        return [frontend.load("openclip:ViT-B-16", tower=t) for t in ("image", "text")]
    from backend_graphs import clip_b16_towers
    return list(clip_b16_towers())


def measure(template: str, what: str, use_frontend: bool) -> dict:
    gs = graphs(use_frontend)
    import backend
    base = backend.presets.get(template)
    space = list(backend.edge_space())
    hws = lambda ks: [base.with_knobs(**k, vector_lanes=k["pe_rows"]) for k in ks]  # noqa: E731
    if what == "point":
        random.seed(0)
        picks = hws(random.sample(space, 41))
        c0, w0 = time.process_time(), time.perf_counter()
        lat = sum(backend.estimate(g, picks[0]).latency_s for g in gs)
        cold = (time.process_time() - c0, time.perf_counter() - w0)
        warm = []
        for hw in picks[1:]:
            c0 = time.process_time()
            for g in gs:
                backend.estimate(g, hw)
            warm.append(time.process_time() - c0)
        return {"cold_cpu_ms": cold[0] * 1e3, "cold_wall_ms": cold[1] * 1e3, "latency_ms": lat * 1e3,
                "warm_cpu_ms_median": statistics.median(warm) * 1e3, "warm_cpu_ms_max": max(warm) * 1e3}
    t = time.process_time()
    all_hw = hws(space)
    build = time.process_time() - t
    c0, w0 = time.process_time(), time.perf_counter()
    r = backend.sweep(gs, all_hw)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"designs": len(all_hw), "sweep_cpu_s": cpu, "sweep_wall_s": wall, "designs_per_cpu_s": len(all_hw) / cpu,
            "designs_per_wall_s": len(all_hw) / wall, "build_hardware_cpu_s": build,
            "feasible": int(r.feasible.sum()), "latency_ms_range": [float(r.latency_s.min() * 1e3),
                                                                     float(r.latency_s.max() * 1e3)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", default="catransformers-edge,systolic-edge")
    ap.add_argument("--frontend", action="store_true", help="lower the towers with frontend.load (else hand-built)")
    ap.add_argument("--child", nargs=2, metavar=("TEMPLATE", "WHAT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.child[0], a.child[1], a.frontend)))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    res = {"header": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                      "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
                      "python": platform.python_version(), "command": "python bench/backend_speed.py " +
                      " ".join(sys.argv[1:]), "load_average_start": os.getloadavg(),
                      "graphs": "frontend.load openclip:ViT-B-16" if a.frontend else "tests/backend/backend_graphs"},
           "templates": {}}
    for tpl in a.templates.split(","):
        res["templates"][tpl] = {}
        for what in ("point", "sweep"):
            cmd = [sys.executable, __file__, "--child", tpl, what] + (["--frontend"] if a.frontend else [])
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            res["templates"][tpl][what] = json.loads(out.stdout.strip().splitlines()[-1])
            print(tpl, what, res["templates"][tpl][what], flush=True)
    res["header"]["load_average_end"] = os.getloadavg()
    OUT.write_text(json.dumps(res, indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
