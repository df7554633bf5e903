"""End to end on a real (small) study: stored metrics equal a direct backend + carbon evaluation, the front is
non-dominated, best-per-objective is the brute-force minimum, seeds reproduce runs, SMAC and random both work."""

from __future__ import annotations

import numpy as np
import pytest
from searchkit import gemm_study

import backend
import frontend
import search
from backend.carbon import carbon
from search.evaluate import Evaluator


def test_trial_metrics_match_a_direct_evaluation(tmp_path):
    st = search.run(gemm_study(), out=tmp_path)
    assert len(st.trials) == 20
    g = frontend.load("gemm:197,768,3072")
    for t in st.trials[:5]:
        hw = backend.edge_hardware(**t.config)
        est = backend.estimate(g, hw)
        rep = carbon(est, "paper-california")
        assert t.metrics["latency_s"] == pytest.approx(est.latency_s, rel=1e-12)
        assert t.metrics["energy_j"] == pytest.approx(est.energy_j, rel=1e-12)
        assert t.metrics["carbon_kg"] == pytest.approx(rep.total_kg, rel=1e-12)
        assert t.metrics["pes"] == t.config["cores"] * t.config["pe_rows"] * t.config["pe_cols"]
        assert t.per_op["top"][0]["name"] == g.ops[0].name


def test_front_and_best_against_brute_force(tmp_path):
    st = search.run(gemm_study(optimizer={"kind": "random", "trials": 40, "seed": 1}), out=tmp_path)
    ok = st.feasible()
    pts = {t.id: (t.metrics["carbon_kg"], t.metrics["latency_s"]) for t in ok}
    front = {t.id for t in st.front()}
    for i, p in pts.items():
        dominated = any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts.values())
        assert (i in front) == (not dominated)
    assert st.best("carbon_kg").metrics["carbon_kg"] == min(p[0] for p in pts.values())
    assert st.best("latency_s").metrics["latency_s"] == min(p[1] for p in pts.values())
    assert len({t.key for t in st.trials}) == 40       # no configuration evaluated twice


@pytest.mark.parametrize("kind", ["random", "smac"])
def test_same_seed_same_trials(kind, tmp_path):
    d = gemm_study(optimizer={"kind": kind, "trials": 25, "seed": 11})
    a = search.run(d, out=tmp_path / "a")
    b = search.run(d, out=tmp_path / "b")
    c = search.run(d, out=tmp_path / "c", seed=12)
    assert [t.config for t in a.trials] == [t.config for t in b.trials]
    assert [t.config for t in a.trials] != [t.config for t in c.trials]


def test_outcome_constraint_marks_trials_infeasible(tmp_path):
    st = search.run(gemm_study(constraints=[{"metric": "pes", "max": 16384}, {"metric": "latency_s", "max": 2e-4}],
                               optimizer={"kind": "random", "trials": 30, "seed": 2}), out=tmp_path)
    for t in st.trials:
        assert (t.status == "infeasible") == (t.metrics["latency_s"] > 2e-4)
        if t.status == "infeasible":
            assert t.violations["latency_s"] == pytest.approx(t.metrics["latency_s"] / 2e-4 - 1)
    assert all(t.ok for t in st.front())


def test_area_cap_is_enforced_before_trials_run(tmp_path):
    ev = Evaluator(search.load(gemm_study()))
    areas = sorted(backend.edge_hardware(**{"cores": c, "pe_rows": 64, "pe_cols": 8}).area_mm2 for c in (1, 2, 4))
    cap = areas[1]
    st = search.run(gemm_study(constraints=[{"metric": "area_mm2", "max": cap}],
                               optimizer={"kind": "random", "trials": 30, "seed": 5}), out=tmp_path, evaluator=ev)
    assert len(st.trials) == 30 and st.info["rejected_pretrial"] > 0
    assert max(t.metrics["area_mm2"] for t in st.trials) <= cap


def test_smac_multi_objective_runs_and_returns_a_front(tmp_path):
    st = search.run(gemm_study(objectives=["carbon_kg", "latency_s", "energy_j"],
                               optimizer={"kind": "smac", "trials": 30, "seed": 0}), out=tmp_path)
    assert len(st.trials) == 30 and st.front()
    ks, hv = st.hypervolume_curve()
    assert ks[-1] == 30 and np.all(np.diff(hv) >= -1e-12) and hv[-1] > 0
    origins = {t.origin for t in st.trials}
    assert origins & {"sobol-initial-design", "initial-design", "sobol"} or len(origins) > 1


def test_existing_store_needs_resume_and_same_study(tmp_path):
    search.run(gemm_study(optimizer={"kind": "random", "trials": 5, "seed": 0}), out=tmp_path)
    with pytest.raises(search.StoreError, match="--resume"):
        search.run(gemm_study(optimizer={"kind": "random", "trials": 5, "seed": 0}), out=tmp_path)
    with pytest.raises(search.StoreError, match="different definition"):
        search.run(gemm_study(objectives=["energy_j"]), out=tmp_path, resume=True)


def test_schedule_knobs_reach_the_backend(tmp_path):
    d = gemm_study(schedule={"knobs": {"dataflow": ["os", "ws", "best"], "mapper": ["edp", "latency"],
                                       "fusion": [True, False]}},
                   optimizer={"kind": "random", "trials": 12, "seed": 4})
    st = search.run(d, out=tmp_path)
    g = frontend.load("gemm:197,768,3072")
    seen = set()
    for t in st.trials:
        cfg = dict(t.config)
        df, target, fuse = cfg.pop("dataflow"), cfg.pop("mapper"), cfg.pop("fusion")
        hw = backend.edge_hardware(**cfg)
        if df != "best":
            hw = hw.model_copy(update={"tensor_unit": hw.tensor_unit.model_copy(update={"dataflows": (df,)})})
            assert t.per_op["top"][0]["dataflow"] == df
        est = backend.estimate(g, hw, target=target, fuse=fuse)
        assert t.metrics["latency_s"] == pytest.approx(est.latency_s, rel=1e-12)
        assert t.metrics["energy_j"] == pytest.approx(est.energy_j, rel=1e-12)
        seen.add(df)
    assert len(seen) > 1


def test_smac_run_does_not_depend_on_the_hash_seed(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    code = ("import sys, json, search; sys.path.insert(0, 'tests/search'); from searchkit import gemm_study; "
            "d = gemm_study(objectives=['carbon_kg', 'latency_s', 'energy_j'], "
            "optimizer={'kind': 'smac', 'trials': 40, 'seed': 1}); "
            "print(json.dumps([t.config for t in search.run(d, out=sys.argv[1]).trials]))")
    runs = []
    for h in ("1", "2"):
        env = {**__import__("os").environ, "PYTHONHASHSEED": h}
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / h)], cwd=root, env=env, check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    assert runs[0] == runs[1]
