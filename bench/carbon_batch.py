"""Carbon-model throughput (run by hand): ``carbon_batch`` over arrays vs ``carbon`` called once per design.

Usage: python bench/carbon_batch.py [--designs N]
Prints designs per second of each and their ratio, measured in one run on synthetic (energy, latency, area) arrays.
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

# the package itself (``from backend import carbon`` may give the re-exported function instead)
bc = importlib.import_module("backend.carbon")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=100_000)
    ap.add_argument("--scalar-designs", type=int, default=2_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.designs
    e, lat, area = rng.uniform(5e-3, 0.1, n), rng.uniform(1e-3, 0.05, n), rng.uniform(1, 200, n)
    leak_w = rng.uniform(0.0, 0.3, n)
    for preset in ("catx-default", "catransformers-code"):
        bc.carbon_batch(preset, energy_j=e[:10], latency_s=lat[:10], area_mm2=area[:10], node_nm=22,
                        dram_kind="lpddr4", dram_gb=1.0)  # warm the data-file cache
        t0 = time.perf_counter()
        out = bc.carbon_batch(preset, energy_j=e, latency_s=lat, area_mm2=area, node_nm=22, dram_kind="lpddr4",
                              dram_gb=1.0, leakage_energy_j=leak_w * lat, leakage_power_w=leak_w)
        t_batch = time.perf_counter() - t0
        m = args.scalar_designs
        sc = bc.scenarios.get(preset)
        t0 = time.perf_counter()
        for i in range(m):
            bc.carbon(bc.Design(e[i], leak_w[i] * lat[i], leak_w[i], lat[i], area[i], 22, "lpddr4", 1.0), sc)
        t_scalar = time.perf_counter() - t0
        assert np.isfinite(out["total_kg"]).all()
        b, s = n / t_batch, m / t_scalar
        print(f"{preset}: carbon_batch {n:,} designs in {t_batch * 1e3:.1f} ms = {b:,.0f} designs/s; "
              f"carbon() {m:,} designs in {t_scalar:.2f} s = {s:,.0f} designs/s; ratio {b / s:,.0f}x")


if __name__ == "__main__":
    main()
