"""Invalid studies are rejected before any trial runs, with an error naming the field; presets load."""

from __future__ import annotations

import pytest
from searchkit import gemm_study

import search
from search.errors import StudyError
from search.space import Space
from search.store import FILE


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["hardware"]["knobs"].update(pe_depth=[2, 4]), "hardware.knobs.pe_depth"),
    (lambda d: d["hardware"]["knobs"].update(cores=[]), "hardware.knobs.cores"),
    (lambda d: d["hardware"]["knobs"].update(local_buffer_kb={"lo": 512, "hi": 64}), "hardware.knobs.local_buffer_kb"),
    (lambda d: d["hardware"]["knobs"].update(pe_rows={"lo": 32, "hi": 256, "step": 0}), "hardware.knobs.pe_rows"),
    (lambda d: d["schedule"].update(knobs={"dataflow": ["os", "diagonal"]}), "schedule.knobs.dataflow"),
    (lambda d: d.update(objectives=["carbon_kg", "joules"]), "objectives"),
    (lambda d: d.update(objectives=[]), "objectives"),
    (lambda d: d.update(constraints=[{"metric": "latency_s", "max": 0}]), "constraints[0] (latency_s)"),
    (lambda d: d.update(constraints=[{"metric": "accuracy", "min": 1.5}]), "constraints[0] (accuracy)"),
    (lambda d: d.update(constraints=[{"metric": "latency_s", "min": 0.2, "max": 0.1}]), "constraints"),
    (lambda d: d.update(forbidden=[{"cores": 4, "vector_width": 8}]), "forbidden[0]"),
    (lambda d: d.update(optimizer={"kind": "bohb"}), "optimizer.kind"),
    (lambda d: d.update(budget=5), "budget"),
    (lambda d: d.update(extends="no-such-preset"), "extends"),
])
def test_invalid_study_names_the_field(mutate, field, tmp_path):
    d = gemm_study(schedule={})
    mutate(d)
    with pytest.raises(StudyError, match=__import__("re").escape(field)):
        search.run(d, out=tmp_path)
    assert not (tmp_path / FILE).exists() or search.Study.load(tmp_path).trials == []


def test_impossible_known_constraint_is_rejected_before_any_trial(tmp_path):
    # the smallest array has 1 x 32 x 2 = 64 PEs: a cap of 32 PEs excludes every configuration
    d = gemm_study(constraints=[{"metric": "pes", "max": 32}])
    with pytest.raises(StudyError, match=r"constraints\[0\] \(pes\).*impossible"):
        search.run(d, out=tmp_path)
    assert search.Study.load(tmp_path).trials == []


def test_forbidding_everything_is_rejected():
    d = gemm_study(hardware={"knobs": {"cores": [1, 2]}}, constraints=[],
                   forbidden=[{"cores": 1}, {"cores": 2}])
    with pytest.raises(StudyError, match="exclude every configuration"):
        Space(search.load(d))


def test_presets_load_and_extend():
    names = search.presets()
    assert {"hardware-only", "hw-carbon", "hw-latency", "hw-energy", "hw-carbon-latency"} <= set(names)
    base, lat = search.load("hardware-only"), search.load("hw-latency")
    assert lat.objectives == ("latency_s",) and lat.optimizer.trials == 200
    assert lat.hardware == base.hardware and lat.constraints == base.constraints


def test_digest_ignores_trial_and_worker_counts_only():
    s = search.load(gemm_study())
    assert s.with_options(trials=999, workers=4).digest() == s.digest()
    assert s.with_options(seed=4).digest() != s.digest()


def test_joint_presets_span_the_paper_space():
    from search.space import Space
    st = search.load("carbon")
    assert st.objectives == ("accuracy", "carbon_kg") and st.needs_accuracy
    assert Space(st, {"clock_hz": 5e8}).size() == pytest.approx(3.47e9, rel=0.01)   # paper: ~3.5e9
    assert search.load("all").objectives == ("accuracy", "carbon_kg", "latency_s", "energy_j")
    assert search.load("model-only").searched("hardware") == []
