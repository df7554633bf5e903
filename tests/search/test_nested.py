"""Nested joint search and exhaustive studies: their fronts equal a brute-force evaluation of every configuration
with the per-trial path; plans, budgets, resume, promotion and TVM-free workers."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from searchkit import gemm_study

import search
from search import metrics as M
from search import report
from search.designs import HardwareGrid, vector_violation
from search.engine import plan
from search.errors import StudyError
from search.evaluate import Evaluator
from search.nested import NestedEvaluator, describe
from search.pareto import pareto_mask
from search.study import Constraint

HW = {"cores": [1, 2], "pe_rows": [32, 64], "pe_cols": [4, 16], "local_buffer_kb": [64, 256]}


def joint(**over) -> dict:
    d = {"name": "nested-test",
         "model": {"spec": "searchkit:tiny_clip", "tower": "both",
                   "knobs": {"text_layers": [2, 4], "vision_heads": [2, 4], "text_width": [48, 64]}},
         "hardware": {"template": "catransformers-edge", "knobs": dict(HW)},
         "objectives": ["carbon_kg", "latency_s"],
         "constraints": [{"metric": "pes", "max": 1024}],
         "forbidden": [{"text_layers": 4, "cores": 2}],
         "optimizer": {"kind": "random", "trials": 8, "seed": 0}}
    d.update(over)
    return d


def brute_force(spec, ev: Evaluator) -> dict[str, dict]:
    """Every legal (model, hardware) combination through the per-trial path: config key -> metrics (ok only)."""
    names = [k.name for k in spec.knobs()]
    out = {}
    for combo in itertools.product(*(k.choices() for k in spec.knobs())):
        v = dict(zip(names, combo))
        if any(all(v.get(k) == x for k, x in c.items()) for c in spec.forbidden):
            continue
        if any(c.violation(ev.known(v)[c.metric]) > 0 for c in spec.constraints if M.get(c.metric).known):
            continue
        t = ev(v)
        if t.ok:
            out[json.dumps(v, sort_keys=True)] = t.metrics
    return out


def front_keys(metrics: dict[str, dict], objectives) -> set[str]:
    keys = list(metrics)
    c = np.array([[M.cost(o, metrics[k][o]) for o in objectives] for k in keys])
    return {k for k, keep in zip(keys, pareto_mask(c)) if keep}


def test_nested_front_equals_brute_force_over_every_combination(tmp_path):
    spec = plan(search.load(joint()))
    assert (spec.optimizer.mode, spec.optimizer.inner) == ("nested", "exhaustive")
    st = search.run(joint(), out=tmp_path)
    ev = Evaluator(search.load(joint()))
    truth = brute_force(search.load(joint()), ev)
    got = {json.dumps(t.config, sort_keys=True): t for t in st.front()}
    assert set(got) == front_keys(truth, spec.objectives)
    for t in st.trials:                                    # every stored row equals its per-trial evaluation
        want = ev(t.config).metrics
        assert t.metrics == pytest.approx({k: want[k] for k in t.metrics}, rel=1e-9)
        assert not (t.config["text_layers"] == 4 and t.config["cores"] == 2)      # the cross clause held
        assert t.config["cores"] * t.config["pe_rows"] * t.config["pe_cols"] <= 1024   # known: never evaluated
    assert st.info["model_evaluations"] == 8 and st.info["inner_refused_known"] == 2
    assert st.info["designs_evaluated"] == 4 * 14 + 4 * 8              # cores=2 forbidden with 4 text layers


def test_rows_an_earlier_row_dominates_are_not_stored_and_the_front_is_unchanged(tmp_path):
    st = search.run(joint(), out=tmp_path)
    n_fronts = 0
    ev = NestedEvaluator(Evaluator(st.spec), HardwareGrid(st.spec, Evaluator(st.spec)), st.spec)
    models = {json.dumps({k: t.config[k] for k in ("text_layers", "vision_heads", "text_width")}) for t in st.trials}
    for m in models:
        n_fronts += len(ev(json.loads(m)).rows)
    assert len(st.trials) <= n_fronts
    for o in st.objectives:                      # each model's best design per objective is always stored
        for m in models:
            mine = [t for t in st.trials if json.dumps({k: t.config[k] for k in json.loads(m)}) == m]
            best = min(ev(json.loads(m)).rows, key=lambda t: t.metrics[o])
            assert min(t.metrics[o] for t in mine) == pytest.approx(best.metrics[o], rel=1e-12)


def test_accuracy_and_promotion_per_model(tmp_path, monkeypatch):
    calls = []

    def accuracy_double(cfg, evaluator, budget=None):      # a stand-in for the model side's evaluator, tests only
        calls.append(evaluator)
        return {"accuracy": 0.4 + 0.02 * cfg.text.layers + 0.01 * cfg.vision.heads
                + (0.05 if evaluator == "finetune" else 0.0)}

    monkeypatch.setattr("search.evaluate.accuracy_function", lambda: accuracy_double)
    d = joint(objectives=["accuracy", "carbon_kg", "latency_s"], fidelity={"high": "finetune", "promote": 2},
              optimizer={"kind": "smac", "trials": 6, "seed": 1})
    st = search.run(d, out=tmp_path)
    assert calls.count("proxy") == 6 == st.info["model_evaluations"] and calls.count("finetune") == 2
    keys = lambda t: (t.config["text_layers"], t.config["vision_heads"], t.config["text_width"])  # noqa: E731
    promoted = {keys(t) for t in st.trials if any(h.parent == t.id for h in st.high)}
    assert len(promoted) == 2
    for t in st.trials:                                    # every row of a promoted model carries the new accuracy
        assert (keys(t) in promoted) == any(h.parent == t.id for h in st.high)
    again = search.run(d, out=tmp_path, resume=True)
    assert calls.count("finetune") == 2 and len(again.high) == len(st.high)
    s = report.write(again)
    assert "'proxy'" in s["accuracy_source"] and "proxy-clip" in s["accuracy_source"]
    assert "tiny_clip's knob values carried" in s["accuracy_source"]


def test_resume_continues_without_repeating_a_model(tmp_path):
    first = search.run(joint(optimizer={"kind": "smac", "trials": 3, "seed": 4}), out=tmp_path)
    rows = {t.id: t.config for t in first.trials}
    st = search.run(joint(optimizer={"kind": "smac", "trials": 6, "seed": 4}), out=tmp_path, resume=True)
    models = [k for k in dict.fromkeys((t.config["text_layers"], t.config["vision_heads"], t.config["text_width"])
                                       for t in st.trials)]
    assert len(models) == 6 and st.info["resumed_from"] == 3
    assert all(st.trials[i].config == c for i, c in enumerate(rows.values()))


def test_wall_time_budget_stops_proposing(tmp_path):
    st = search.run(joint(optimizer={"kind": "random", "trials": 8, "seed": 0, "wall_s": 1e-6}), out=tmp_path)
    assert st.info["model_evaluations"] == 0


def test_plans(tmp_path):
    p = plan(search.load("joint"))
    assert (p.optimizer.mode, p.optimizer.kind, p.optimizer.inner) == ("nested", "smac", "exhaustive")
    for mode in ("carbon", "latency", "energy", "carbon-latency", "all"):   # the paper's modes: all 14 knobs
        s = plan(search.load(mode))
        assert s.optimizer.mode == "nested" and len(s.knobs()) == 14
    assert plan(search.load("hardware-only")).optimizer.kind == "exhaustive"
    assert plan(search.load("hardware-only").with_options(kind="smac")).optimizer.kind == "smac"
    assert plan(search.load("joint").with_options(mode="flat")).optimizer.mode == "flat"
    assert plan(search.load("model-only")).optimizer.mode == "flat"
    big = search.load(joint(hardware={"knobs": {**HW, "clock_hz": [1e8 * i for i in range(1, 81)],
                                                "global_bw_words_per_cycle": list(range(8, 1608, 16))}}))
    assert plan(big).optimizer.inner == "sampled"
    with pytest.raises(StudyError, match="128,000 combinations"):
        plan(big.with_options(exhaustive=True))
    hw_big = search.load(gemm_study(hardware={"knobs": {**HW, "clock_hz": [1e8 * i for i in range(1, 81)],
                                                       "global_bw_words_per_cycle": list(range(8, 1608, 16))}},
                                    optimizer={"trials": 5}))
    assert plan(hw_big).optimizer.kind == "smac"
    with pytest.raises(StudyError, match="128,000 combinations"):
        plan(hw_big.with_options(exhaustive=True))
    with pytest.raises(StudyError, match="mode: nested needs"):
        plan(search.load("hardware-only").with_options(mode="nested"))
    no_fuse = search.load(joint(schedule={"knobs": {"fusion": [True, False]}}))
    assert plan(no_fuse).optimizer.mode == "flat"
    with pytest.raises(StudyError, match="fusion"):
        plan(no_fuse.with_options(mode="nested"))


def test_exhaustive_hardware_only_study_returns_the_exact_front(tmp_path):
    d = gemm_study(hardware={"template": "catransformers-edge",
                             "knobs": {"cores": [1, 2, 4], "pe_rows": [32, 64, 128], "pe_cols": [4, 8, 16],
                                       "local_buffer_kb": [64, 256]}},
                   constraints=[{"metric": "pes", "max": 2048}, {"metric": "latency_s", "max": 2e-3}],
                   optimizer={"trials": 5, "seed": 0})
    st = search.run(d, out=tmp_path)
    assert st.info["mode"] == "exhaustive" and "front is exact" in describe(st)
    ev = Evaluator(search.load(d))
    truth = brute_force(search.load(d), ev)
    assert len(st.trials) == st.info["designs_evaluated"] == 54 - st.info["refused_known"]
    feasible = {k: m for k, m in truth.items() if m["latency_s"] <= 2e-3}
    assert {json.dumps(t.config, sort_keys=True) for t in st.front()} == front_keys(feasible, st.objectives)
    assert all(t.per_op.get("top") for t in st.front())                  # front designs carry per-op summaries
    assert st.info["sweep_vs_estimate_max_rel_diff"] < 1e-9
    again = search.run(d, out=tmp_path, resume=True)                     # complete: nothing re-evaluated
    assert len(again.trials) == len(st.trials)


def test_vector_violation_matches_the_scalar_rule():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 200)
    for c in (Constraint(metric="latency_s", max=0.5), Constraint(metric="accuracy", min=-0.3),
              Constraint(metric="energy_j", min=-1.0, max=1.0)):
        assert vector_violation(c, x) == pytest.approx([c.violation(v) for v in x], abs=0)


def test_workers_need_no_tvm(tmp_path):
    spec = plan(search.load(joint()))
    ev = Evaluator(spec)
    ev.clip.prepare()
    nested = NestedEvaluator(ev, HardwareGrid(spec, ev), spec)
    values = {"text_layers": 4, "vision_heads": 2, "text_width": 48}
    want = nested(values)
    (tmp_path / "ev.pkl").write_bytes(pickle.dumps(nested))
    code = ("import sys, json, pickle; sys.modules['tvm'] = None; "             # importing tvm now fails
            f"ev = pickle.loads(open({str(tmp_path / 'ev.pkl')!r}, 'rb').read()); "
            f"r = ev({values!r}); assert 'tvm' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]; "
            "print(json.dumps([[t.config, t.metrics] for t in r.rows]))")
    root = str(Path(search.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=str(tmp_path), env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == [[t.config, t.metrics] for t in want.rows]


def test_attention_knob_acts_on_the_fused_clip_towers(tmp_path):
    """Pruned CLIP towers are fused, so the attention schedule knob changes the designs (no 'no effect' note); the
    nested rows searching it equal the per-trial path, which passes it to ``backend.estimate``."""
    import ir
    d = joint(schedule={"knobs": {"attention": ["fused", "unfused"]}},
              hardware={"template": "catransformers-edge", "knobs": {"cores": [1, 2], "pe_rows": [32, 64]}},
              optimizer={"kind": "random", "trials": 3, "seed": 2})
    ev = Evaluator(search.load(d))
    assert not ev.notes
    v = {"text_layers": 2, "vision_heads": 4, "text_width": 64, "cores": 1, "pe_rows": 32}
    g = ev.graph(v)
    assert sum(o.kind == ir.OpKind.ATTENTION for o in g.ops) == 2             # one per tower's layer block
    fused, unfused = ev({**v, "attention": "fused"}), ev({**v, "attention": "unfused"})
    assert fused.metrics["macs"] == unfused.metrics["macs"]
    assert fused.metrics["latency_s"] != unfused.metrics["latency_s"]
    st = search.run(d, out=tmp_path)
    assert st.info["mode"] == "nested"
    for t in st.trials:
        want = ev(t.config).metrics
        assert t.metrics == pytest.approx({k: want[k] for k in t.metrics}, rel=1e-9)
