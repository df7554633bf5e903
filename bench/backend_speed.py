"""Backend speed on CLIP ViT-B/16 (both towers). Run by hand: ``python bench/backend_speed.py [--frontend]``.

Reports (1) ms per design point on hardware never seen before: the first estimate in a fresh process (mapper
tables built from scratch), then new configurations whose op shapes were seen (tables cached, schedules not);
(2) the whole 3,240-point CATransformers edge space through ``backend.sweep``, design points per second.
Single-threaded numpy; run with OMP_NUM_THREADS=1 for one core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "backend"))

from backend_graphs import clip_b16_towers  # noqa: E402

import backend  # noqa: E402
import ir  # noqa: E402


def graphs(use_frontend: bool) -> list[ir.Graph]:
    if use_frontend:
        import frontend
        return [frontend.load("openclip:ViT-B-16", tower=t) for t in ("image", "text")]
    return list(clip_b16_towers())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frontend", action="store_true", help="lower the towers with frontend.load (slow first)")
    a = ap.parse_args()
    gs = graphs(a.frontend)
    print(f"graphs: {[g.name for g in gs]}, {sum(ir.totals(g).macs for g in gs) / 1e9:.2f} GMACs, "
          f"{sum(len(g.ops) for g in gs)} stored ops")
    space = list(backend.edge_space())
    random.seed(0)
    picks = random.sample(space, 40)
    t = time.perf_counter()
    hw = backend.edge_hardware(**picks[0])
    load_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    ests = [backend.estimate(g, hw) for g in gs]
    cold_ms = (time.perf_counter() - t) * 1e3
    print(f"one-time: reading the preset and technology YAML {load_ms:.1f} ms")
    print(f"cold design point (fresh process, mapper tables built): {cold_ms:.1f} ms  "
          f"latency {sum(e.latency_s for e in ests) * 1e3:.2f} ms, energy {sum(e.energy_j for e in ests) * 1e3:.2f} mJ")
    warm = []
    for k in picks[1:]:
        hw = backend.edge_hardware(**k)
        t = time.perf_counter()
        for g in gs:
            backend.estimate(g, hw)
        warm.append((time.perf_counter() - t) * 1e3)
    print(f"new configurations, shapes seen: median {statistics.median(warm):.1f} ms, max {max(warm):.1f} ms "
          f"per design point ({len(warm)} configs)")
    t = time.perf_counter()
    hws = [backend.edge_hardware(**k) for k in space]
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    r = backend.sweep(gs, hws)
    sweep_s = time.perf_counter() - t
    print(f"sweep: {len(hws)} configurations in {sweep_s:.2f} s = {len(hws) / sweep_s:,.0f} design points/s "
          f"(building the Hardware objects: {build_s:.2f} s); feasible {int(r.feasible.sum())}, "
          f"latency {r.latency_s.min() * 1e3:.2f}..{r.latency_s.max() * 1e3:.1f} ms")
    import numpy as np
    ok = np.array([h.pes <= 16384 for h in hws])
    i = int(np.argmin(np.where(ok, r.latency_s, np.inf)))
    print(f"min latency within the paper's 16,384-MAC cap: {r.latency_s[i] * 1e3:.2f} ms at {space[i]} "
          f"(paper's min-latency CLIP-B/16 design: 5.4 ms)")
    j = space.index({"cores": 1, "pe_rows": 256, "pe_cols": 8, "local_buffer_kb": 64,
                     "local_bw_words_per_cycle": 128, "global_buffer_mb": 2})
    print(f"CarbonCLIP-B/16 min-carbon hardware (1,256,8,64,128,2): {r.latency_s[j] * 1e3:.2f} ms, "
          f"{r.energy_j[j] * 1e3:.2f} mJ, {r.area_mm2[j]:.2f} mm2 (paper: 18.5 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
