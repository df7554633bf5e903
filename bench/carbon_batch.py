"""Carbon-model throughput (run by hand): ``carbon_batch`` over arrays vs ``carbon`` called once per design.

Usage: python bench/carbon_batch.py [--designs N] [--repeats 5] [--out bench/results/carbon_batch.json]
Prints designs per second of each and their ratio, measured on synthetic (energy, latency, area) arrays; the batch
time is the median of --repeats calls. Stores the result with bench/provenance.py.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from provenance import Run  # noqa: E402

# the package itself (``from backend import carbon`` may give the re-exported function instead)
bc = importlib.import_module("backend.carbon")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=100_000)
    ap.add_argument("--scalar-designs", type=int, default=2_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run = Run("carbon_batch")
    stored = {"designs": args.designs, "scalar_designs": args.scalar_designs, "repeats": args.repeats, "presets": {}}
    rng = np.random.default_rng(0)
    n = args.designs
    e, lat, area = rng.uniform(5e-3, 0.1, n), rng.uniform(1e-3, 0.05, n), rng.uniform(1, 200, n)
    leak_w = rng.uniform(0.0, 0.3, n)
    for preset in ("catx-default", "catransformers-code"):
        bc.carbon_batch(preset, energy_j=e[:10], latency_s=lat[:10], area_mm2=area[:10], node_nm=22,
                        dram_kind="lpddr4", dram_gb=1.0)  # warm the data-file cache
        times, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            out = bc.carbon_batch(preset, energy_j=e, latency_s=lat, area_mm2=area, node_nm=22,
                                  dram_kind="lpddr4", dram_gb=1.0, leakage_energy_j=leak_w * lat,
                                  leakage_power_w=leak_w)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        t_batch, c_batch = statistics.median(times), statistics.median(cpu)
        m = args.scalar_designs
        sc = bc.scenarios.get(preset)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(m):
            bc.carbon(bc.Design(e[i], leak_w[i] * lat[i], leak_w[i], lat[i], area[i], 22, "lpddr4", 1.0), sc)
        t_scalar, c_scalar = time.perf_counter() - t0, time.process_time() - c0
        assert np.isfinite(out["total_kg"]).all()
        b, s = n / t_batch, m / t_scalar
        print(f"{preset}: carbon_batch {n:,} designs in {t_batch * 1e3:.1f} ms = {b:,.0f} designs/s; "
              f"carbon() {m:,} designs in {t_scalar:.2f} s = {s:,.0f} designs/s; ratio {b / s:,.0f}x")
        stored["presets"][preset] = {
            "batch_s": t_batch, "batch_runs_s": times, "batch_designs_per_s": b, "scalar_s": t_scalar,
            "scalar_designs_per_s": s, "ratio": b / s, "batch_cpu_s": c_batch, "scalar_cpu_s": c_scalar,
            "batch_designs_per_cpu_s": n / c_batch, "scalar_designs_per_cpu_s": m / c_scalar,
            "ratio_cpu": (n / c_batch) / (m / c_scalar)}
    run.save(stored, args.out)


if __name__ == "__main__":
    main()
