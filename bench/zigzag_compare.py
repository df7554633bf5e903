"""CATX vs ZigZag (LOMA mapper) on the ViT-B/16 GEMMs, same hardware and unit costs. Run by hand:

    python bench/zigzag_compare.py [--peer-python /work/peers-venv/bin/python] [--arrays 32x32,128x128]

Hardware: one core, an R x C array with one dataflow (OS or WS), 256 KB local buffer at 128 words/cycle, 2 MB
global buffer at 256 words/cycle, DRAM at 128 words/cycle, 22 nm INT8. ZigZag gets the same per-bit energies
for every memory (taken from CATX's technology library), the same MAC energy and the same port widths; both
minimise EDP. ZigZag needs layer dims with small prime factors, so M = 196 stands in for 197 in both tools.
Leakage is left out of CATX's energy here (ZigZag has none).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "backend"))
sys.path.insert(0, str(ROOT / "bench"))

from backend_graphs import gemm  # noqa: E402
from provenance import Run  # noqa: E402

import backend  # noqa: E402
from backend.costs import consts  # noqa: E402

estimate_module = importlib.import_module("backend.estimate")

GEMMS = [("qkv", 196, 768, 2304), ("qk_per_head", 196, 64, 196), ("av_per_head", 196, 196, 64),
         ("out_proj", 196, 768, 768), ("ffn_up", 196, 768, 3072), ("ffn_down", 196, 3072, 768)]


def hardware(rows: int, cols: int, df: str) -> backend.Hardware:
    """The two-buffer template (systolic-edge: local + global buffer, no per-PE level), as ZigZag models it."""
    return backend.presets.get("systolic-edge").with_knobs(
        cores=1, pe_rows=rows, pe_cols=cols, local_buffer_kb=256, local_bw_words_per_cycle=128, global_buffer_mb=2,
        **{"tensor_unit.dataflows": [df]})


def spec(hw: backend.Hardware, df: str, shapes: list) -> dict:
    c = consts(hw)
    local, glb = c.levels
    return {"rows": c.rows, "cols": c.cols, "dataflow": df, "mac_pj": c.e_mac * 1e12,
            "reg_pj_per_bit": hw.tech.register_energy_j_per_bit() * 1e12,
            "local_bytes": int(local.cap_bits / 8), "local_bw_bits": int(local.read_bw),
            "local_pj_per_bit": local.e_bit * 1e12, "glb_bytes": int(glb.cap_bits / 8), "glb_bw_bits": int(glb.read_bw),
            "glb_pj_per_bit": glb.e_bit * 1e12, "dram_bw_bits": int(c.dram_bw), "dram_pj_per_bit": c.e_dram * 1e12,
            "gemms": [list(s) for s in shapes], "opt": "EDP"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-python", default="/work/peers-venv/bin/python")
    ap.add_argument("--arrays", default="32x32")
    ap.add_argument("--dataflows", default="os,ws")
    ap.add_argument("--summarise", action="store_true",
                    help="only add the summary to the stored bench/results/zigzag_compare.json (no rerun)")
    a = ap.parse_args()
    if a.summarise:
        add_summary(ROOT / "bench" / "results" / "zigzag_compare.json")
        return 0
    run = Run("zigzag_compare")
    rows_out = []
    print(f"{'gemm':<12} {'array':<8} {'df':<3} {'catx_cyc':>10} {'zz_cyc':>10} {'catx_uJ':>9} {'zz_uJ':>9} "
          f"{'E zz/catx':>9} {'catx_dramMB':>11} {'zz_dramMB':>9} {'catx_ms':>8} {'zz_s':>6}")
    for arr in a.arrays.split(","):
        rows, cols = (int(x) for x in arr.split("x"))
        for df in a.dataflows.split(","):
            hw = hardware(rows, cols, df)
            for name, m, k, n in GEMMS:
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                    json.dump(spec(hw, df, [(m, k, n)]), f)
                res = subprocess.run([a.peer_python, str(ROOT / "bench" / "zigzag_run.py"), f.name],
                                     capture_output=True, text=True)
                if res.returncode != 0:
                    print(f"{name:<12} {arr:<8} {df:<3} ZigZag failed: {res.stderr.strip().splitlines()[-1][:90]}")
                    continue
                zz = json.loads(res.stdout)[0]
                estimate_module.clear_cache()
                t = time.perf_counter()
                est = backend.estimate(gemm(m, k, n), hw, target="edp")
                catx_ms = (time.perf_counter() - t) * 1e3
                r = est.ops[0]
                e_catx_pj = (r.energy_j - r.energy_by_component_j["leakage"]) * 1e12
                c = consts(hw)
                catx_dram_mb = r.energy_by_component_j["dram"] / c.e_dram / 8 / 1e6
                zz_dram_pj = sum(v[-1] for v in zz.get("mem_energy_pj", {}).values())
                zz_dram_mb = zz_dram_pj / (c.e_dram * 1e12) / 8 / 1e6
                row = {"gemm": name, "m": m, "k": k, "n": n, "array": arr, "dataflow": df,
                       "catx_cycles": r.cycles, "zigzag_cycles": zz["latency_cycles"],
                       "catx_energy_pj": e_catx_pj, "zigzag_energy_pj": zz["energy_pj"],
                       "catx_dram_mb": catx_dram_mb, "zigzag_dram_mb": zz_dram_mb, "catx_ms": catx_ms,
                       "zigzag_s": zz["seconds"], "catx_schedule": r.schedule,
                       "zigzag_mapping": zz.get("temporal_mapping"), "zigzag_mem_energy_pj": zz.get("mem_energy_pj")}
                rows_out.append(row)
                print(f"{name:<12} {arr:<8} {df:<3} {r.cycles:>10.0f} {zz['latency_cycles']:>10.0f} "
                      f"{e_catx_pj / 1e6:>9.2f} {zz['energy_pj'] / 1e6:>9.2f} {zz['energy_pj'] / e_catx_pj:>9.2f} "
                      f"{catx_dram_mb:>11.3f} {zz_dram_mb:>9.3f} {catx_ms:>8.2f} {zz['seconds']:>6.1f}", flush=True)
    cases = json.loads(json.dumps(rows_out, default=str))
    if cases:
        s = summary(cases)
        print(f"{s['cases']} cases: ZigZag {s['zigzag_s_total']:.1f} s, CATX {s['catx_s_total'] * 1e3:.1f} ms "
              f"(x{s['time_ratio']:,.0f})")
    run.save({"cases": cases, "summary": summary(cases)})     # bench/results/zigzag_compare.json, with its header
    return 0


def summary(cases: list[dict]) -> dict:
    """What the docs quote, derived from the cases: ratio ranges, DRAM traffic against the compulsory minimum
    (every operand read once, the output written once), total times."""
    def compulsory_mb(c: dict) -> float:
        return (c["m"] * c["k"] + c["k"] * c["n"] + c["m"] * c["n"]) / 1e6        # 8-bit operands

    energy = [c["zigzag_energy_pj"] / c["catx_energy_pj"] for c in cases]
    latency = [c["zigzag_cycles"] / c["catx_cycles"] for c in cases]
    zz_minus = [round((c["zigzag_dram_mb"] - compulsory_mb(c)) * 1e6) for c in cases]
    tot_c, tot_z = sum(c["catx_ms"] for c in cases) / 1e3, sum(c["zigzag_s"] for c in cases)
    return {"cases": len(cases),
            "energy_ratio_zigzag_over_catx": [min(energy), max(energy)],
            "latency_ratio_zigzag_over_catx": [min(latency), max(latency)],
            "catx_dram_equals_compulsory": sum(abs(c["catx_dram_mb"] - compulsory_mb(c)) < 1e-9 for c in cases),
            "zigzag_dram_equals_compulsory": sum(d == 0 for d in zz_minus),
            "zigzag_dram_minus_compulsory_bytes": sorted(set(zz_minus)),
            "zigzag_s_total": tot_z, "catx_s_total": tot_c, "time_ratio": tot_z / tot_c}


def add_summary(path: Path) -> None:
    """Add the summary to a stored run that predates it (its header and cases unchanged)."""
    doc = json.loads(path.read_text())
    cases = doc["result"]["cases"] if isinstance(doc["result"], dict) else doc["result"]
    doc["result"] = {"cases": cases, "summary": summary(cases)}
    doc["header"]["summary_added_by"] = "bench/zigzag_compare.py --summarise (derived from the stored cases)"
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
