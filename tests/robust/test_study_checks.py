"""Study knob values, ranges and optimiser settings are checked against the hardware template and the model before
the first trial: a StudyError naming the knob, never a trial-by-trial failure or a ConfigSpace/pydantic trace."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

import search
from search import StudyError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from searchkit import gemm_study, tiny_clip  # noqa: E402

BAD_HARDWARE = {
    "cores -3": ({"cores": [1, -3]}, "hardware.knobs.cores: value -3 is not allowed on template"),
    "node 45": ({"node_nm": [22, 45]}, r"node_nm: value 45 .*technology node 45 nm is not modelled"),
    "DRAM LPDDR9": ({"dram_kind": ["LPDDR4", "LPDDR9"]}, "dram_kind: value 'LPDDR9' is not allowed"),
    "fixed cores 0": ({"cores": 0}, "hardware.knobs.cores: value 0 is not allowed"),
    "range below 1": ({"cores": {"lo": -3, "hi": 2}}, "hardware.knobs.cores: value -3"),
    "NaN": ({"cores": [1, math.nan]}, "cores: value nan is not allowed"),
    "inf": ({"clock_hz": [1e9, math.inf]}, "clock_hz: value inf is not allowed"),
    "null": ({"cores": [None, 2]}, "cores: value None is not allowed"),
    "string": ({"cores": [1, "two"]}, "cores: value 'two' must be a number"),
    "bool": ({"cores": [True, 2]}, "cores: value True must be a number"),
    "nested list": ({"cores": [[1], 2]}, r"cores: value \[1\] is not allowed"),
    "range to inf": ({"clock_hz": {"lo": 1e8, "hi": math.inf}}, "clock_hz: Input should be a finite number"),
    "range of strings": ({"cores": {"lo": "a", "hi": 3}}, "cores: Input should be a valid number"),
}


class NeverCalled:
    """An evaluator that fails the test if any trial runs."""

    def base_values(self):
        raise AssertionError("a trial or the search space was set up before the study was checked")

    def __call__(self, *a, **k):
        raise AssertionError("a trial ran")


@pytest.mark.parametrize("name", list(BAD_HARDWARE))
def test_bad_hardware_knob_is_a_study_error_before_any_trial(tmp_path, name):
    knobs, message = BAD_HARDWARE[name]
    doc = gemm_study()
    doc["hardware"]["knobs"] = {"pe_rows": [32, 64], **knobs}
    with pytest.raises(StudyError, match=message):
        search.run(doc, out=tmp_path, evaluator=NeverCalled())


@pytest.mark.parametrize("option,value,message", [
    ("seed", -1, r"optimizer.seed \(--seed\): must be an integer in 0..4,294,967,295, got -1"),
    ("seed", 2**40, "optimizer.seed"), ("trials", 0, r"optimizer.trials \(--trials\)"),
    ("workers", 0, "optimizer.workers")])
def test_optimizer_options_are_checked(tmp_path, option, value, message):
    with pytest.raises(StudyError, match=message):
        search.run(gemm_study(), out=tmp_path, evaluator=NeverCalled(), **{option: value})


def test_negative_seed_in_the_file(tmp_path):
    with pytest.raises(StudyError, match="optimizer.seed.*greater than or equal to 0"):
        search.load(gemm_study(optimizer={"kind": "random", "trials": 5, "seed": -4}))


def test_a_huge_integer_range_is_searched_not_listed(tmp_path):
    """1..10**12 Hz used to be materialised as a tuple of 10**12 values."""
    doc = gemm_study(optimizer={"kind": "random", "trials": 2, "seed": 1})
    doc["hardware"]["knobs"] = {"pe_rows": [32, 64], "clock_hz": {"lo": 100_000_000, "hi": 10**12}}
    doc["constraints"] = []
    st = search.run(doc, out=tmp_path)
    assert len(st.trials) == 2 and all(t.ok for t in st.trials)
    assert all(1e8 <= t.config["clock_hz"] <= 1e12 for t in st.trials)


def test_good_values_still_run(tmp_path):
    doc = gemm_study(optimizer={"kind": "random", "trials": 3, "seed": 1})
    doc["hardware"]["knobs"] = {"pe_rows": [32, 64], "node_nm": [22, 7], "dram_kind": ["LPDDR4", "HBM2"]}
    doc["constraints"] = []
    st = search.run(doc, out=tmp_path)
    assert len(st.trials) == 3 and all(t.ok for t in st.trials)


@pytest.fixture(scope="module")
def clip_module(tmp_path_factory):
    import types
    mod = types.ModuleType("robust_tiny_clip")
    mod.make = tiny_clip
    sys.modules["robust_tiny_clip"] = mod
    yield "robust_tiny_clip:make"
    del sys.modules["robust_tiny_clip"]


@pytest.mark.parametrize("knobs,message", [
    ({"vision_layers": [2, 9]}, r"model.knobs.vision_layers: value 9: configuration field vision.layers = 9 is "
                                r"outside the legal space"),
    ({"text_heads": [2, 3.5]}, "model.knobs.text_heads: value 3.5 must be an integer"),
    ({"text_ffn": 7}, "model.knobs.text_ffn: value 7"),
])
def test_model_knobs_checked_through_the_pruning_space(tmp_path, clip_module, knobs, message):
    doc = gemm_study()
    doc["model"] = {"spec": clip_module, "tower": "image"}
    doc["model"]["knobs"] = knobs
    with pytest.raises(StudyError, match=message):
        search.run(doc, out=tmp_path)
