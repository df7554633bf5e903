"""How fusion changes the paper's direction on the edge space: CLIP ViT-B/16, min-carbon vs min-latency design.

CLIP ViT-B/16 (both towers, ``frontend.load("openclip:ViT-B-16", tower=...)``, batch 1, 8-bit) is swept over all
3,240 designs of CATransformers' edge space (``backend.edge_space()`` / ``backend.edge_hardware``, CATX's own
physics, ``target="edp"``) under the ``catx-default`` carbon scenario, with the paper's constraints (latency
<= 50 ms, <= 16,384 MACs), in three settings:

* ``lowered``: the graph as lowered (no ``ir.fuse``): scores go through memory, every elementwise op is its own op;
* ``fused_unfused_attention``: ``ir.fuse`` applied (epilogues joined, mask artefacts dropped) but attention run as
  its unfused parts (``attention="unfused"``);
* ``fused_best_attention``: ``ir.fuse`` and ``attention="best"`` (the FLAT/flash block schedule where it is better).

For each: the min-carbon and the min-latency design (knobs, kg, ms, mm2, J) and the carbon/latency ratios::

    python bench/fusion_edge_direction.py        # ~1-2 min on 2 cores; writes bench/results/fusion_edge_direction.json
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import backend  # noqa: E402
import frontend  # noqa: E402
import ir  # noqa: E402

bc = importlib.import_module("backend.carbon")
RESULT = ROOT / "bench" / "results" / "fusion_edge_direction.json"
MODEL = "openclip:ViT-B-16"
SCENARIO = "catx-default"
MAX_LATENCY_S, MAX_MACS = 0.050, 16_384          # the paper's constraints (BRIEF §1)
SETTINGS = {  # name: (apply ir.fuse, attention mode)
    "lowered": (False, "unfused"),
    "fused_unfused_attention": (True, "unfused"),
    "fused_best_attention": (True, "best"),
}


def towers(fuse: bool) -> list[ir.Graph]:
    gs = [frontend.load(MODEL, tower=t, bits=8) for t in ("image", "text")]
    return [ir.fuse(g) for g in gs] if fuse else gs


def sweep_setting(graphs: list[ir.Graph], space: list[dict], hws: list[backend.Hardware], attention: str) -> dict:
    t0 = time.process_time()
    r = backend.sweep(graphs, hws, target="edp", attention=attention)
    cpu_s = time.process_time() - t0
    node = hws[0].node_nm
    c = bc.carbon_batch(SCENARIO, energy_j=r.energy_j, latency_s=r.latency_s, area_mm2=r.area_mm2, node_nm=node,
                        dram_kind=hws[0].dram.kind.lower(), dram_gb=hws[0].dram.capacity_gb,
                        leakage_energy_j=r.leakage_power_w * r.latency_s, leakage_power_w=r.leakage_power_w)
    ok = r.feasible & (r.latency_s <= MAX_LATENCY_S) & np.array([h.pes <= MAX_MACS for h in hws]) & c["feasible"]
    total = np.where(ok, c["total_kg"], np.inf)
    pick = {"min_carbon": int(np.argmin(total)),
            "min_latency": int(np.argmin(np.where(ok, r.latency_s + total * 1e-12, np.inf)))}
    out = {"attention": attention, "feasible": int(ok.sum()), "sweep_cpu_s": cpu_s,
           "latency_s_all": r.latency_s, "carbon_kg_all": total}
    for k, i in pick.items():
        out[k] = {"knobs": space[i], "carbon_kg": float(total[i]), "embodied_kg": float(c["embodied_kg"][i]),
                  "operational_kg": float(c["operational_kg"][i]), "latency_s": float(r.latency_s[i]),
                  "energy_j": float(r.energy_j[i]), "area_mm2": float(r.area_mm2[i])}
    mc, ml = out["min_carbon"], out["min_latency"]
    out["carbon_saving"] = 1 - mc["carbon_kg"] / ml["carbon_kg"]
    out["latency_ratio"] = mc["latency_s"] / ml["latency_s"]
    out["area_ratio"] = ml["area_mm2"] / mc["area_mm2"]
    out["direction_holds"] = mc["carbon_kg"] < ml["carbon_kg"] and mc["area_mm2"] < ml["area_mm2"]
    return out


def header(argv: list[str]) -> dict:
    return {"script": "bench/fusion_edge_direction.py",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
            "python": platform.python_version(), "command": "python bench/fusion_edge_direction.py " + " ".join(argv),
            "load_average": os.getloadavg(), "model": MODEL, "towers": ["image", "text"], "bits": 8,
            "scenario": SCENARIO, "target": "edp", "constraints": {"max_latency_s": MAX_LATENCY_S,
                                                                   "max_macs": MAX_MACS}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argv = sys.argv[1:] if argv is None else argv
    ap.parse_args(argv)
    space = list(backend.edge_space())
    hws = [backend.edge_hardware(**k) for k in space]
    out = {"header": header(argv), "designs": len(space), "settings": {}}
    graphs = {fuse: towers(fuse) for fuse in (False, True)}
    out["executed_ops"] = {("fused" if f else "lowered"): sum(k for g in gs for _, k in g.weighted_ops())
                           for f, gs in graphs.items()}
    arrays = {}
    for name, (fuse, attention) in SETTINGS.items():
        s = sweep_setting(graphs[fuse], space, hws, attention)
        arrays[name] = (s.pop("latency_s_all"), s.pop("carbon_kg_all"))
        out["settings"][name] = s
        mc, ml = s["min_carbon"], s["min_latency"]
        print(f"{name}: min-carbon {mc['carbon_kg']:.3f} kg @ {mc['latency_s'] * 1e3:.1f} ms on "
              f"{mc['area_mm2']:.2f} mm2 {mc['knobs']} vs min-latency {ml['carbon_kg']:.3f} kg @ "
              f"{ml['latency_s'] * 1e3:.1f} ms on {ml['area_mm2']:.2f} mm2 {ml['knobs']} "
              f"({s['feasible']} feasible, sweep {s['sweep_cpu_s']:.1f} s CPU)", flush=True)
    out["versus_lowered"] = {}
    base_lat, base_kg = arrays["lowered"]
    for name, (lat, kg) in arrays.items():
        ok = np.isfinite(lat) & np.isfinite(base_lat)
        speed = base_lat[ok] / lat[ok]
        both = np.isfinite(kg) & np.isfinite(base_kg)
        out["versus_lowered"][name] = {
            "designs_faster": int((speed > 1 + 1e-9).sum()), "speedup_median": float(np.median(speed)),
            "speedup_min_max": [float(speed.min()), float(speed.max())],
            "carbon_ratio_median": float(np.median(kg[both] / base_kg[both]))}
    lat_u, lat_b = arrays["fused_unfused_attention"][0], arrays["fused_best_attention"][0]
    ok = np.isfinite(lat_u) & np.isfinite(lat_b)
    gain = lat_u[ok] / lat_b[ok]
    out["best_vs_unfused_attention"] = {"designs_faster": int((gain > 1 + 1e-9).sum()),
                                        "speedup_median": float(np.median(gain)),
                                        "speedup_min_max": [float(gain.min()), float(gain.max())]}
    print(json.dumps({k: out[k] for k in ("executed_ops", "versus_lowered", "best_vs_unfused_attention")}))
    RESULT.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
