"""Model knobs: pruned-CLIP variants lowered per tower shape; MACs and parameters equal the closed-form counts."""

from __future__ import annotations

import pytest

import search
from search.errors import StudyError


def model_study(**over) -> dict:
    d = {"name": "model-test", "model": {"spec": "openclip:ViT-B-16", "tower": "both",
                                         "knobs": {"text_layers": [6, 9, 12], "vision_layers": [8, 12],
                                                   "vision_ffn": [1536, 3072], "text_width": 384}},
         "hardware": {"knobs": {"pe_cols": [8, 16]}},
         "objectives": ["carbon_kg", "latency_s"], "constraints": [{"metric": "params", "min": 1.0e8}],
         "optimizer": {"kind": "random", "trials": 6, "seed": 0}}
    d.update(over)
    return d


def test_tiny_clip_variants_match_closed_form_counts(tmp_path):
    from frontend.clip import macs, params
    from search.evaluate import Evaluator
    d = model_study(model={"spec": "searchkit:tiny_clip", "tower": "both",
                           "knobs": {"text_layers": [2, 3, 4], "vision_ffn": [128, 256], "vision_heads": [2, 4],
                                     "text_width": 48}},
                    constraints=[{"metric": "params", "max": 3.0e5}], optimizer={"kind": "random", "trials": 8,
                                                                                "seed": 0})
    st = search.run(d, out=tmp_path)                              # nested: 8 models, each its pe_cols front
    ev = Evaluator(search.load(d))
    models = {(t.config["text_layers"], t.config["vision_ffn"], t.config["vision_heads"]) for t in st.trials}
    assert st.info["mode"] == "nested" and len(models) == st.info["model_evaluations"] == 8
    for t in st.trials:
        cfg = ev.clip.config({**ev.fixed, **t.config})
        assert cfg.text.width == 48
        assert t.metrics["macs"] == macs(ev.clip.arch, cfg)
        assert t.metrics["params"] == params(ev.clip.arch, cfg) <= 3.0e5
    assert st.info["rejected_pretrial"] > 0                       # the params cap refused some variants unrun
    assert len({t.config["text_layers"] for t in st.trials}) > 1


@pytest.mark.slow
def test_pruned_variants_match_closed_form_counts(tmp_path):
    import itertools

    from frontend.clip import macs, params
    st = search.run(model_study(), out=tmp_path)                    # nested: up to 6 variants, each its pe_cols front
    from search.evaluate import Evaluator
    ev = Evaluator(search.load(model_study()), cache_dir=tmp_path / "graphs")
    knobs = {k: v for k, v in model_study()["model"]["knobs"].items() if isinstance(v, list)}
    legal = [c for c in itertools.product(*knobs.values())          # the params cap (>= 1e8) is known: refused unrun
             if params(ev.clip.arch, ev.clip.config({**ev.fixed, **dict(zip(knobs, c))})) >= 1.0e8]
    assert st.info["mode"] == "nested" and st.info["model_evaluations"] == min(6, len(legal)) >= 1
    assert all(t.ok for t in st.trials)
    depths = set()
    for t in st.trials:
        cfg = ev.clip.config({**ev.fixed, **t.config})
        assert cfg.text.width == 384 and cfg.vision.layers == t.config["vision_layers"]
        assert t.metrics["macs"] == macs(ev.clip.arch, cfg)          # layer counts reuse one lowering per shape
        assert t.metrics["params"] == params(ev.clip.arch, cfg) >= 1.0e8
        depths.add(cfg.text.layers)
    assert len(depths) > 1
    assert st.info["rejected_pretrial"] > 0 or min(t.metrics["params"] for t in st.trials) >= 1.0e8
    ev.clip.prepare()                                  # ViT-B/16 fits templates: no tower lowered per shape
    assert all(t is not None for t in ev.clip._templates.values()) and not any((tmp_path / "graphs").glob("*.json"))


def test_model_knob_outside_the_pruning_space_is_rejected(tmp_path):
    d = model_study()
    d["model"]["knobs"]["vision_heads"] = [4, 12]      # the paper's space: 6..12
    with pytest.raises(StudyError, match="model.knobs.vision_heads"):
        search.run(d, out=tmp_path)


def test_accuracy_objective_needs_model_knobs(tmp_path):
    with pytest.raises(StudyError, match="accuracy"):
        search.run({"name": "x", "hardware": {"knobs": {"pe_cols": [8, 16]}}, "objectives": ["accuracy", "carbon_kg"]},
                   out=tmp_path)


def test_multi_fidelity_promotes_the_most_accurate_front_designs(tmp_path, monkeypatch):
    calls = []

    def accuracy_double(cfg, evaluator, budget=None):      # a stand-in for the model side's evaluator, tests only
        calls.append(evaluator)
        return {"accuracy": 0.4 + 0.02 * cfg.text.layers + (0.05 if evaluator == "finetune" else 0.0)}

    monkeypatch.setattr("search.evaluate.accuracy_function", lambda: accuracy_double)
    d = model_study(model={"spec": "searchkit:tiny_clip", "knobs": {"text_layers": [2, 3, 4]}},
                    objectives=["accuracy", "carbon_kg"], constraints=[],
                    fidelity={"low": "proxy", "high": "finetune", "promote": 2},
                    optimizer={"kind": "random", "trials": 5, "seed": 1, "mode": "flat"})
    st = search.run(d, out=tmp_path)
    assert calls.count("proxy") == 5 and calls.count("finetune") == len(st.high) == 2
    promoted = {h.parent for h in st.high}
    front = sorted(st.front(), key=lambda t: -t.metrics["accuracy"])
    assert promoted == {t.id for t in front[:2]}
    for t in st.trials:
        low = 0.4 + 0.02 * t.config["text_layers"]
        assert t.metrics["accuracy"] == pytest.approx(low)
        assert st.metrics_of(t)["accuracy"] == pytest.approx(low + (0.05 if t.id in promoted else 0.0))
    again = search.run(d, out=tmp_path, resume=True)       # resuming does not promote twice
    assert len(again.high) == 2 and calls.count("finetune") == 2


def test_accuracy_is_read_from_the_model_evaluator():
    from search.errors import EvaluationError
    from search.models import accuracy_function, read_accuracy
    assert read_accuracy(0.25) == 0.25 and read_accuracy({"accuracy": 0.5, "r1": 0.4}) == 0.5
    assert read_accuracy(type("R", (), {"accuracy": 0.75})()) == 0.75
    with pytest.raises(EvaluationError, match="accuracy"):
        read_accuracy({"r1": 0.4})
    import frontend.evaluate
    assert accuracy_function() is frontend.evaluate.evaluate
