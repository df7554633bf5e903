"""SMAC vs random search at equal budget on the hardware-only CLIP ViT-B/16 study (run by hand).

Both optimisers run the ``hardware-only`` preset (carbon, latency, energy; <= 16,384 MACs; latency <= 50 ms) for
several seeds. Hypervolumes are normalised over the true feasible range, found by evaluating every legal
configuration with ``backend.sweep`` + ``carbon_batch``; the true front's hypervolume is the ceiling.

    python bench/search_smac_vs_random.py [--seeds 5] [--budget 100] [--out bench/results/search_smac_vs_random.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import Run  # bench/provenance.py (bench/ is on sys.path when run as a script)

import backend
import frontend
import search
from backend.carbon import carbon_batch
from search.evaluate import Evaluator
from search.pareto import hypervolume, normalise
from search.space import Space


def exhaustive(spec, ev: Evaluator, graph) -> tuple[np.ndarray, list[dict]]:
    """Costs (carbon, latency, energy) of every legal configuration; inf rows where a constraint is missed."""
    sp = Space(spec, ev.base_values())
    names = list(sp.knobs)
    import itertools
    configs = [dict(zip(names, c)) for c in itertools.product(*(sp.knobs[n].choices() for n in names))]
    configs = [c for c in configs if sp.legal(c)]
    hws = [ev.hardware(sp.full(c)) for c in configs]
    r = backend.sweep(graph, hws)
    hw0 = hws[0]
    cb = carbon_batch(ev.scenario, energy_j=r.energy_j, latency_s=r.latency_s, area_mm2=r.area_mm2,
                      node_nm=hw0.node_nm, dram_kind=hw0.dram.kind, dram_gb=hw0.dram.capacity_gb,
                      leakage_power_w=r.leakage_power_w, leakage_energy_j=r.leakage_power_w * r.latency_s)
    metrics = {"carbon_kg": cb["total_kg"], "latency_s": r.latency_s, "energy_j": r.energy_j}
    costs = np.stack([metrics[o] for o in spec.objectives], axis=1)
    ok = r.feasible.copy()
    for c in spec.constraints:
        if c.metric in metrics:
            ok &= np.array([c.violation(v) == 0 for v in metrics[c.metric]])
    costs[~ok] = np.inf
    return costs, configs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Run("search_smac_vs_random")
    spec = search.load("hardware-only").with_options(trials=a.budget)
    t = time.perf_counter()
    graph = frontend.load(spec.model.spec, tower=spec.model.tower)
    print(f"lowered {spec.model.spec} ({spec.model.tower}) in {time.perf_counter() - t:.1f} s")
    ev = Evaluator(spec, graph=graph)
    t = time.perf_counter()
    costs, configs = exhaustive(spec, ev, graph)
    ok = np.all(np.isfinite(costs), axis=1)
    lo, hi = costs[ok].min(axis=0), costs[ok].max(axis=0)
    ref = np.full(len(lo), 1.1)
    true_hv = hypervolume(normalise(costs[ok], lo, hi), ref)
    print(f"exhaustive: {len(configs)} legal configurations ({ok.sum()} feasible) in {time.perf_counter() - t:.1f} s;"
          f" true front hypervolume {true_hv:.4f}")
    checkpoints = sorted({max(10, a.budget // 4), a.budget // 2, a.budget})
    runs: dict[str, list] = {"smac": [], "random": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            for kind in ("smac", "random"):
                t = time.perf_counter()
                st = search.run(spec, out=Path(tmp) / f"{kind}-{seed}", kind=kind, seed=seed, evaluator=ev)
                wall = time.perf_counter() - t
                c = st.costs()
                if seed == 0 and kind == "smac":     # the sweep path must agree with the per-trial path
                    index = {Space.key(cf): i for i, cf in enumerate(configs)}
                    both = [(c[j], costs[index[Space.key(t.config)]]) for j, t in enumerate(st.trials)
                            if np.all(np.isfinite(c[j]))]
                    err = max(float(np.max(np.abs(x / y - 1))) for x, y in both)
                    print(f"per-trial vs sweep metrics: max relative difference {err:.2e} over {len(both)} trials")
                hv = {k: hypervolume(normalise(c[:k][np.all(np.isfinite(c[:k]), axis=1)], lo, hi), ref) / true_hv
                      for k in checkpoints}
                runs[kind].append({"seed": seed, "wall_s": wall, "hv_fraction": hv, "front": len(st.front())})
                print(f"{kind:6s} seed {seed}: " + "  ".join(f"HV@{k}={v:.4f}" for k, v in hv.items())
                      + f"  ({wall:.1f} s)")
    summary = {}
    for kind, rs in runs.items():
        summary[kind] = {str(k): {"mean": float(np.mean([r["hv_fraction"][k] for r in rs])),
                                  "std": float(np.std([r["hv_fraction"][k] for r in rs]))} for k in checkpoints}
        summary[kind]["mean_wall_s"] = float(np.mean([r["wall_s"] for r in rs]))
    wins = sum(s["hv_fraction"][a.budget] > r["hv_fraction"][a.budget] for s, r in zip(runs["smac"], runs["random"]))
    print("\nhypervolume as a fraction of the true front's (mean +- std over seeds):")
    for k in checkpoints:
        s, r = summary["smac"][str(k)], summary["random"][str(k)]
        print(f"  {k:5d} trials: SMAC {s['mean']:.4f} +- {s['std']:.4f}   random {r['mean']:.4f} +- {r['std']:.4f}"
              f"   ratio {s['mean'] / r['mean']:.3f}")
    print(f"SMAC beats random on {wins} of {a.seeds} seeds at {a.budget} trials")
    ratio = {str(k): summary["smac"][str(k)]["mean"] / summary["random"][str(k)]["mean"] for k in checkpoints}
    run.save({"budget": a.budget, "seeds": a.seeds, "true_hv": true_hv, "feasible": int(ok.sum()),
              "legal": len(configs), "summary": summary, "smac_over_random": ratio, "runs": runs,
              "smac_wins": int(wins)}, a.out)


if __name__ == "__main__":
    main()
