"""CATX vs SCALE-Sim 3 (cycle-level) on the ViT-B/16 GEMMs, 32x32 and 128x128 arrays, OS/WS/IS. Run by hand:

    python bench/scalesim_compare.py [--peer-python /work/peers-venv/bin/python] [--store] [--quick]

For each case it runs SCALE-Sim live (buffers and interface bandwidth large, so it is compute-bound), then CATX's
full estimate on a matching compute-bound hardware (one core, that array, that dataflow only, 64 MB buffers and
wide ports) and prints cycles, the error and both tools' wall time. ``--store`` writes the small cases to
tests/backend/data/scalesim_cycles.json for the unit test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import backend  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "backend"))
sys.path.insert(0, str(ROOT / "bench"))
from backend_graphs import gemm  # noqa: E402
from provenance import Run  # noqa: E402

# (name, M, K, N): ViT-B/16 image tower, 197 tokens, width 768, 12 heads of 64, FFN 3072
GEMMS = [("qkv", 197, 768, 2304), ("qk_per_head", 197, 64, 197), ("av_per_head", 197, 197, 64),
         ("out_proj", 197, 768, 768), ("ffn_up", 197, 768, 3072), ("ffn_down", 197, 3072, 768)]
ARRAYS = [(32, 32), (128, 128)]
DATAFLOWS = ["os", "ws", "is"]
STORE = ROOT / "tests" / "backend" / "data" / "scalesim_cycles.json"


def compute_bound_hw(rows: int, cols: int, df: str) -> backend.Hardware:
    """The systolic template (no per-PE level: SCALE-Sim's array) with buffers and bandwidths that never bind."""
    return backend.presets.get("systolic-edge").with_knobs(
        cores=1, pe_rows=rows, pe_cols=cols, local_buffer_kb=65536, local_bw_words_per_cycle=65536,
        global_buffer_mb=64, global_bw_words_per_cycle=65536, dram_bw_words_per_cycle=65536,
        **{"tensor_unit.dataflows": [df]})


def run_scalesim(py: str, rows: int, cols: int, df: str, shapes: list[tuple[int, int, int]]) -> tuple[list, float]:
    t = time.perf_counter()
    out = subprocess.run([py, str(ROOT / "bench" / "scalesim_run.py"), str(rows), str(cols), df,
                          *[f"{m},{k},{n}" for m, k, n in shapes]], capture_output=True, text=True, check=True)
    return json.loads(out.stdout), time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-python", default="/work/peers-venv/bin/python")
    ap.add_argument("--store", action="store_true")
    ap.add_argument("--quick", action="store_true", help="only the per-head GEMMs")
    a = ap.parse_args()
    run = Run("scalesim_compare")             # header argv records --quick
    gemms = GEMMS[1:3] if a.quick else GEMMS
    rows_out, stored = [], []
    print(f"{'gemm':<12} {'array':<8} {'df':<3} {'scalesim':>10} {'catx':>10} {'catx_cc':>10} {'err%':>7} "
          f"{'ss_s':>7} {'catx_ms':>8}")
    for rows, cols in ARRAYS:
        for df in DATAFLOWS:
            for name, m, k, n in gemms:
                (ss,), ss_s = run_scalesim(a.peer_python, rows, cols, df, [(m, k, n)])
                hw = compute_bound_hw(rows, cols, df)
                backend.estimate.__globals__["_CACHE"].clear()
                t = time.perf_counter()
                est = backend.estimate(gemm(m, k, n), hw, target="latency")
                catx_ms = (time.perf_counter() - t) * 1e3
                rec = est.ops[0]
                cc = rec.schedule["cycles_by_term"]["compute"]
                err = (rec.cycles - ss["total_cycles"]) / ss["total_cycles"] * 100
                print(f"{name:<12} {rows}x{cols:<5} {df:<3} {ss['total_cycles']:>10} {rec.cycles:>10.0f} {cc:>10.0f} "
                      f"{err:>7.2f} {ss_s:>7.1f} {catx_ms:>8.2f}", flush=True)
                r = {"gemm": name, "m": m, "k": k, "n": n, "rows": rows, "cols": cols, "dataflow": df,
                     "scalesim_cycles": ss["total_cycles"], "scalesim_stall_cycles": ss["stall_cycles"],
                     "catx_cycles": rec.cycles, "catx_compute_cycles": cc, "error_pct": err,
                     "scalesim_s": ss_s, "catx_ms": catx_ms}
                rows_out.append(r)
                if ss_s < 20:
                    stored.append({k2: r[k2] for k2 in ("gemm", "m", "k", "n", "rows", "cols", "dataflow",
                                                        "scalesim_cycles", "scalesim_stall_cycles")})
    errs = [abs(r["error_pct"]) for r in rows_out]
    print(f"max |error| {max(errs):.2f}%  mean |error| {sum(errs) / len(errs):.2f}%  over {len(errs)} cases")
    print(f"SCALE-Sim total {sum(r['scalesim_s'] for r in rows_out):.1f} s, CATX total "
          f"{sum(r['catx_ms'] for r in rows_out):.1f} ms")
    run.save(rows_out)          # bench/results/scalesim_compare.json, with its header (bench/provenance.py)
    if a.store:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps({"tool": "scalesim 3.0.0", "config": "bench/scalesim_run.py CONFIG",
                                     "cases": stored}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
