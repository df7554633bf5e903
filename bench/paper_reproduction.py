"""CATransformers' Tables 2 and 3 beside CATX: writes bench/results/paper_reproduction.json and docs/paper.md.

Usage: python bench/paper_reproduction.py [--quick]

Settings (one template and one convention set for every row; no per-design constants):
  (a) paper-faithful: the `catransformers-edge` template (their code's hierarchy) with `conventions: catransformers`,
      under both carbon scenarios of theirs: `paper-california` (the paper's text) and `catransformers-code` (their
      shipped config);
  (b) CATX's own: the same template with CATX's physics, `catx-default` scenario.
Table 3: the eight published designs (hardware knobs + pruned towers) estimated as given. Table 2: for seven models,
every one of the 3,240 edge designs swept exactly under the paper's constraints (latency <= 50 ms, <= 16,384 MACs),
then the minimum-carbon and the minimum-latency design. ``--quick`` sweeps every 9th design (for a smoke run).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import paper_models as pm  # noqa: E402

import backend  # noqa: E402

bc = importlib.import_module("backend.carbon")
RESULTS = ROOT / "bench" / "results" / "paper_reproduction.json"
DOC = ROOT / "docs" / "paper.md"
SETTINGS = {   # name: (conventions, scenario)
    "a-california": ("catransformers", "paper-california"),
    "a-code": ("catransformers", "catransformers-code"),
    "b-catx": ("catx", "catx-default"),
}


def hardware(conventions: str, **knobs) -> backend.Hardware:
    base = backend.presets.get("catransformers-edge")
    return base.with_knobs(**knobs, vector_lanes=knobs.get("pe_rows", 256), conventions=conventions)


def carbon_kg(scenario: str, energy_j, latency_s, area_mm2, leak_j, leak_w) -> dict:
    a = np.atleast_1d
    return bc.carbon_batch(scenario, energy_j=a(energy_j), latency_s=a(latency_s), area_mm2=a(area_mm2), node_nm=22,
                           dram_kind="lpddr4", dram_gb=1.0, leakage_energy_j=a(leak_j), leakage_power_w=a(leak_w))


def table3() -> dict:
    out = {}
    for name, (kg, ms, _, text, vision) in pm.paper()["table3"].items():
        img, txt = pm.table3_towers(name)
        rows = {}
        for setting, (conv, scenario) in SETTINGS.items():
            hw = hardware(conv, **pm.table3_hardware(name))
            est = [backend.estimate(g, hw) for g in (img, txt)]
            lat = sum(e.latency_s for e in est)
            en = sum(e.energy_j for e in est)
            leak = sum(e.energy_by_component_j["leakage"] for e in est)
            c = carbon_kg(scenario, en, lat, hw.area_mm2, leak, hw.leakage_power_w)
            rows[setting] = {"latency_s": lat, "energy_j": en, "area_mm2": hw.area_mm2,
                             "carbon_kg": float(c["total_kg"][0]), "embodied_kg": float(c["embodied_kg"][0]),
                             "operational_kg": float(c["operational_kg"][0])}
        out[name] = {"paper": {"carbon_kg": kg, "latency_s": ms / 1e3}, "text": text, "vision": vision,
                     "hardware": pm.table3_hardware(name),
                     "macs": int(sum(backend.estimate(g, hardware("catx")).macs for g in (img, txt))), **rows}
        print(f"table 3 {name}: " + ", ".join(f"{s} {r['latency_s'] * 1e3:.2f} ms {r['carbon_kg']:.3f} kg"
                                            for s, r in rows.items()), flush=True)
    return out


def table2(step: int) -> dict:
    space = list(backend.edge_space())[::step]
    cons = pm.paper()["constraints"]
    out = {}
    for name, (c_kg, c_ms, l_kg, l_ms) in pm.paper()["table2"].items():
        img, txt = pm.full_model_towers(name)
        rows = {}
        for setting, (conv, scenario) in SETTINGS.items():
            hws = [hardware(conv, **k) for k in space]
            t0 = time.process_time()
            r = backend.sweep([img, txt], hws, target="edp")
            sweep_s = time.process_time() - t0
            c = carbon_kg(scenario, r.energy_j, r.latency_s, r.area_mm2, r.leakage_power_w * r.latency_s,
                          r.leakage_power_w)
            ok = r.feasible & (r.latency_s <= cons["max_latency_s"]) & \
                np.array([h.pes <= cons["max_macs"] for h in hws]) & c["feasible"]
            total = np.where(ok, c["total_kg"], np.inf)
            if not ok.any():
                rows[setting] = {"feasible": 0}
                continue
            pick = {"min_carbon": int(np.argmin(total)),
                    "min_latency": int(np.argmin(np.where(ok, r.latency_s + total * 1e-12, np.inf)))}
            rows[setting] = {"feasible": int(ok.sum()), "sweep_cpu_s": sweep_s, **{
                k: {"knobs": space[i], "carbon_kg": float(total[i]), "latency_s": float(r.latency_s[i]),
                    "area_mm2": float(r.area_mm2[i]), "energy_j": float(r.energy_j[i])} for k, i in pick.items()}}
        out[name] = {"paper": {"min_carbon": {"carbon_kg": c_kg, "latency_s": c_ms / 1e3},
                               "min_latency": {"carbon_kg": l_kg, "latency_s": l_ms / 1e3}}, **rows}
        print(f"table 2 {name}: " + ", ".join(
            f"{s} {v['min_carbon']['carbon_kg']:.3f} kg/{v['min_carbon']['latency_s'] * 1e3:.1f} ms vs "
            f"{v['min_latency']['carbon_kg']:.3f} kg/{v['min_latency']['latency_s'] * 1e3:.1f} ms"
            for s, v in rows.items() if v.get("feasible")), flush=True)
    return out


def summary(t3: dict, t2: dict) -> dict:
    s = {}
    for setting in SETTINGS:
        paper_ms = [v["paper"]["latency_s"] for v in t3.values()]
        ours = [v[setting]["latency_s"] for v in t3.values()]
        lat_ratio = [o / p for o, p in zip(ours, paper_ms)]
        c_ratio = [v[setting]["carbon_kg"] / v["paper"]["carbon_kg"] for v in t3.values()]
        direction = [v[setting]["min_carbon"]["area_mm2"] < v[setting]["min_latency"]["area_mm2"] and
                     v[setting]["min_carbon"]["carbon_kg"] < v[setting]["min_latency"]["carbon_kg"]
                     for v in t2.values() if v[setting].get("feasible")]
        s[setting] = {"table3_latency_spearman": float(spearmanr(paper_ms, ours).statistic),
                      "table3_latency_ratio": [min(lat_ratio), max(lat_ratio)],
                      "table3_carbon_ratio": [min(c_ratio), max(c_ratio)],
                      "table2_direction_holds": f"{sum(direction)}/{len(t2)}"}
    return s


def header(argv: list[str]) -> dict:
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
            "python": platform.python_version(), "command": "python bench/paper_reproduction.py " + " ".join(argv),
            "load_average": os.getloadavg()}


def write_doc(res: dict) -> None:
    from paper_doc import write  # docs/paper.md and the ratios it quotes (bench/results/paper_doc.json)
    write(res)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sweep every 9th edge design for Table 2")
    argv = sys.argv[1:] if argv is None else argv
    a = ap.parse_args(argv)
    t0 = time.time()
    t3 = table3()
    t2 = table2(9 if a.quick else 1)
    res = {"header": header(argv), "settings": {k: {"conventions": c, "scenario": s} for k, (c, s) in SETTINGS.items()},
           "table3": t3, "table2": t2, "summary": summary(t3, t2), "wall_s": time.time() - t0}
    RESULTS.write_text(json.dumps(res, indent=1))
    write_doc(res)
    print(json.dumps(res["summary"], indent=1))
    print(f"wrote {RESULTS} and {DOC} in {res['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
