"""The memory hierarchy as data: the old two-buffer form is its special case, knobs reach any level, and bad
hierarchies get a typed error naming the file, the level and the field."""

import pytest
import yaml
from backend_graphs import clip_b16_towers, gemm

import backend
from backend import HardwareError
from backend.hardware import Hardware
from backend.knobs import KNOBS, NAMES, knob_value, knob_values

OLD_FORM = """
name: old
node_nm: 22
clock_hz: 5.0e8
cores: 2
tensor_unit: {pe_rows: 64, pe_cols: 16}
vector_unit: {lanes: 64}
local_buffer: {size_kb: 128, bw_words_per_cycle: 64, banks: 8}
global_buffer: {size_mb: 2, bw_words_per_cycle: 256}
dram: {kind: LPDDR4, capacity_gb: 1, bw_words_per_cycle: 128}
"""


def test_old_two_buffer_form_is_the_hierarchys_special_case(tmp_path):
    p = tmp_path / "old.yaml"
    p.write_text(OLD_FORM)
    old = Hardware.from_yaml(p)
    assert [(lv.name, lv.sharing) for lv in old.memory] == [("local_buffer", "per_core"), ("global_buffer", "per_chip")]
    assert old.global_buffer.resident_fraction == 0.25 and old.global_buffer.banks == 8     # the old defaults
    new = Hardware.from_dict(old.model_dump(mode="json"), "dumped")            # written back in the new form
    assert "memory" in new.model_dump() and "local_buffer" not in new.model_dump()
    img, txt = clip_b16_towers()
    for g in (img, txt):
        a, b = backend.estimate(g, old), backend.estimate(g, new)
        assert a.latency_s == b.latency_s and a.energy_j == b.energy_j and a.area_mm2 == b.area_mm2
    both = yaml.safe_load(OLD_FORM)
    both["memory"] = [{"name": "x", "sharing": "per_core", "size_kb": 1, "bw_words_per_cycle": 1}]
    with pytest.raises(HardwareError, match="either 'memory'.*migrate"):
        Hardware.from_dict(both, "both.yaml")


def _doc(memory):
    doc = backend.presets.get("systolic-edge").model_dump(mode="json")
    doc["memory"] = memory
    return doc


LOCAL = {"name": "local", "sharing": "per_core", "size_kb": 64, "bw_words_per_cycle": 64}
GLOBAL = {"name": "glb", "sharing": "per_chip", "size_mb": 2, "bw_words_per_cycle": 256}


@pytest.mark.parametrize("memory, words", [
    ([{**LOCAL, "holds": []}, GLOBAL], ["memory[0] (local)", "holds", "at least one"]),
    ([{**LOCAL, "bw_words_per_cycle": 0}, GLOBAL], ["memory[0] (local)", "bw_words_per_cycle", "greater than 0"]),
    ([{**LOCAL, "bw_words_per_cycle": float("inf")}, GLOBAL], ["memory[0] (local)", "bw_words_per_cycle", "finite"]),
    ([{**LOCAL, "bw_words_per_cycle": float("nan")}, GLOBAL], ["memory[0] (local)", "bw_words_per_cycle"]),
    ([LOCAL, {**GLOBAL, "read_bw_words_per_cycle": 8, "bw_words_per_cycle": None}],
     ["memory[1] (glb)", "read_bw_words_per_cycle and write_bw_words_per_cycle"]),
    ([{**LOCAL, "sharing": "per_rack"}, GLOBAL], ["memory[0] (local)", "sharing", "per_pe", "per_core", "per_chip"]),
    ([{**LOCAL, "parent": "glb"}, {**GLOBAL, "parent": "local"}], ["memory[1] (glb)", "parent", "no path to DRAM"]),
    ([{**LOCAL, "parent": "nowhere"}, GLOBAL], ["memory[0] (local)", "parent", "no level 'nowhere'"]),
    ([GLOBAL, LOCAL], ["memory[1] (local)", "sharing", "from the PEs outward"]),
    ([LOCAL, {**LOCAL, "name": "local"}], ["memory[1] (local)", "name", "unique"]),
    ([{**LOCAL, "size_mb": 1}, GLOBAL], ["memory[0] (local)", "exactly one of size_bytes, size_kb, size_mb"]),
    ([{**LOCAL, "holds": ["weights", "psums"]}, GLOBAL], ["memory[0] (local)", "holds"]),
])
def test_bad_hierarchies_name_file_level_and_field(tmp_path, memory, words):
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump(_doc(memory)))
    with pytest.raises(HardwareError) as e:
        Hardware.from_yaml(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)


def test_capacity_too_small_is_a_marked_infeasible_estimate():
    hw = Hardware.from_dict(_doc([{**LOCAL, "size_bytes": 4, "size_kb": None}, GLOBAL]))
    est = backend.estimate(gemm(32, 32, 32), hw)
    assert not est.feasible and est.infeasible and "local" in est.infeasible[0]


def test_knob_table_reaches_every_level():
    hw = backend.presets.get("catransformers-edge")
    vals = knob_values(hw)
    assert set(vals) == set(NAMES) == set(KNOBS)
    assert vals["local_buffer_kb"] == 64 and vals["global_buffer_mb"] == 2 and vals["register_file_bytes"] == 32
    assert vals["local_bw_words_per_cycle"] == 128 and vals["clock_hz"] == 6.25e8
    v = hw.with_knobs(local_buffer_kb=256, local_bw_words_per_cycle=32, register_file_bytes=64,
                      **{"memory.global_buffer.read_bw_words_per_cycle": 100})
    lb = v.local_buffer
    assert (lb.size_kb, lb.read_bw_words_per_cycle, lb.write_bw_words_per_cycle) == (256, 32, 32)
    assert v.level("register_file").size_bytes == 64 and v.global_buffer.read_bw_words_per_cycle == 100
    assert knob_value(backend.presets.get("eyeriss-like"), "local_buffer_kb") is None       # no per-core level
    with pytest.raises(HardwareError, match="no a per-core memory level|no a per-core|has no a"):
        backend.presets.get("eyeriss-like").with_knobs(local_buffer_kb=64)
    with pytest.raises(HardwareError, match="unknown hardware knob"):
        hw.with_knobs(pe_depth=4)
    with pytest.raises(HardwareError, match="cores"):
        hw.with_knobs(cores=-3)


def test_catransformers_floor_on_the_local_buffer():
    """Their rule: a per-core buffer of at least width x depth / 64 KB, 256 KB for 256x32 and 128 KB for 256x16."""
    base = backend.presets.get("catransformers-edge")
    for (r, c, kb), want_kb in {(256, 8, 64): 64, (128, 64, 64): 128, (256, 64, 128): 256, (256, 32, 64): 256,
                                (256, 16, 64): 128, (64, 4, 64): 64, (256, 32, 512): 512}.items():
        hw = base.with_knobs(pe_rows=r, pe_cols=c, local_buffer_kb=kb)
        assert hw.capacity_bytes(hw.local_buffer) == want_kb * 1024, (r, c, kb)


def test_every_preset_estimates_clip():
    img, txt = clip_b16_towers()
    for name in backend.presets.names():
        hw = backend.presets.get(name)
        est = backend.estimate(txt, hw)
        assert est.feasible and est.latency_s > 0 and est.energy_j > 0, name
        assert est.macs == pytest.approx(2.98e9, rel=0.01)
