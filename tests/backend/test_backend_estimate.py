"""estimate(): totals, repeats, vector and movement ops, infeasible marking, cache keys, JSON, sweep equality."""

import json
import math

import pytest
from backend_graphs import clip_b16_towers, gemm, tower

import backend
from backend.costs import consts


@pytest.fixture(scope="module")
def towers():
    return clip_b16_towers()


def test_components_sum_and_leakage_is_power_times_latency():
    hw = backend.presets.get("catransformers-edge")
    est = backend.estimate(gemm(197, 768, 768), hw)
    assert set(est.energy_by_component_j) == {"mac", "pipeline_registers", "vector", "register_file", "local_buffer",
                                              "global_buffer", "dram", "leakage"}
    assert est.energy_j == pytest.approx(sum(est.energy_by_component_j.values()))
    assert est.energy_by_component_j["leakage"] == pytest.approx(est.leakage_power_w * est.latency_s)
    assert est.energy_by_component_j["mac"] == pytest.approx(197 * 768 * 768 * hw.tech.mac_energy_j(8))
    assert est.area_mm2 == pytest.approx(hw.area_mm2) and est.peak_tops == hw.peak_tops
    rec = est.ops[0]
    s = rec.schedule
    assert s["dataflow"] in ("os", "ws", "is") and s["bound"] in s["cycles_by_term"]
    assert 0 < s["utilisation"] <= 1
    assert [lv["name"] for lv in s["levels"]] == ["register_file", "local_buffer", "global_buffer"]
    for lvl in s["levels"][1:]:
        assert sorted(lvl["loop_order"]) == ["k", "m", "n"] and set(lvl["tile"]) == {"m", "k", "n"}


def test_repeats_count_but_map_once(towers):
    hw = backend.presets.get("catransformers-edge")
    one = tower("t1", 77, 512, 8, 2048, 1)
    six = tower("t6", 77, 512, 8, 2048, 6)
    e1, e6 = backend.estimate(one, hw), backend.estimate(six, hw)
    block = set(one.blocks[0].ops)
    per_layer_s = sum(r.latency_s for r in e1.ops if r.name in block)
    per_layer_j = sum(r.energy_j for r in e1.ops if r.name in block)
    assert e6.latency_s == pytest.approx(e1.latency_s + 5 * per_layer_s)
    assert e6.energy_j == pytest.approx(e1.energy_j + 5 * per_layer_j)
    assert all(r.repeat == 6 for r in e6.ops if r.name in block)
    assert e1.op("qkv").macs == 77 * 512 * 1536


def test_vector_and_movement_ops(towers):
    hw = backend.presets.get("catransformers-edge")
    img, _ = towers
    est = backend.estimate(img, hw)
    gelu = est.op("gelu")
    lanes = hw.vector_unit.lanes * hw.cores
    assert gelu.schedule["cycles_by_term"]["compute"] == math.ceil(197 * 3072 / lanes) * 15   # erf-class: 15 cycles
    assert gelu.energy_by_component_j["mac"] == 0 and gelu.energy_by_component_j["vector"] > 0
    assert est.op("split_q").latency_s == 0 and est.op("split_q").energy_j == 0      # reshape: a free view
    assert gelu.schedule["fused_inputs"] == [img.op("fc1").output.tensor]     # reads fc1's output locally
    assert est.op("qk").schedule["gemm"] == {"b": 12, "m": 197, "k": 64, "n": 197}
    assert est.op("patch_embed").schedule["gemm"] == {"b": 1, "m": 196, "k": 768, "n": 768}
    assert est.macs == pytest.approx(17.56e9, rel=0.01)


def test_infeasible_is_marked_not_raised():
    hw = backend.presets.get("systolic-edge").with_knobs(local_buffer_kb=0.001)   # 1 byte: no 1x1x1 tile fits
    est = backend.estimate(gemm(64, 64, 64), hw)
    assert not est.feasible and math.isinf(est.latency_s)
    assert "cannot hold even a 1x1x1 tile" in est.infeasible[0]
    json.loads(est.to_json().replace("Infinity", "1e999"))


def test_cache_key_includes_clock_and_bits():
    g = gemm(128, 256, 512)
    a = backend.estimate(g, backend.edge_hardware(clock_hz=5e8))
    b = backend.estimate(g, backend.edge_hardware(clock_hz=1e9))
    assert b.latency_s == pytest.approx(a.latency_s / 2)
    hw16 = backend.edge_hardware().model_copy(update={"bits": backend.hardware.Bits(weight=16, activation=16)})
    c16 = backend.estimate(g, hw16)
    assert c16.energy_by_component_j["dram"] > 1.9 * a.energy_by_component_j["dram"]


def test_json_round_trip_and_bad_target():
    est = backend.estimate(gemm(32, 32, 32), backend.presets.get("gpu-like"))
    d = json.loads(est.to_json())
    assert d["latency_s"] == est.latency_s and d["ops"][0]["schedule"]["dataflow"] == "os"
    assert d["hardware"]["name"] == "gpu-like"
    with pytest.raises(backend.BackendError, match="allowed"):
        backend.estimate(gemm(2, 2, 2), backend.presets.get("gpu-like"), target="speed")


def test_sweep_equals_estimate(towers):
    img, txt = towers
    pts = list(backend.edge_space())[::270]
    hws = [backend.edge_hardware(**k) for k in pts]
    r = backend.sweep([img, txt], hws, target="edp")
    for i, hw in enumerate(hws):
        a, b = backend.estimate(img, hw), backend.estimate(txt, hw)
        assert r.latency_s[i] == pytest.approx(a.latency_s + b.latency_s, rel=1e-9)
        assert r.energy_j[i] == pytest.approx(a.energy_j + b.energy_j, rel=1e-9)
        assert r.area_mm2[i] == pytest.approx(hw.area_mm2)


def test_more_cores_is_faster_for_clip(towers):
    img, _ = towers
    lat = [backend.estimate(img, backend.edge_hardware(cores=c), target="latency").latency_s for c in (1, 2, 4)]
    assert lat[0] > lat[1] > lat[2]
    c = consts(backend.edge_hardware(cores=4))
    assert c.cores == 4


def test_per_op_targets():
    g = gemm(197, 768, 3072)
    hw = backend.edge_hardware(cores=2, pe_rows=64, pe_cols=64, local_buffer_kb=128)
    lat = backend.estimate(g, hw, target="latency")
    en = backend.estimate(g, hw, target="energy")
    mixed = backend.estimate(g, hw, target="latency", op_targets={"mm": "energy"})
    assert lat.latency_s <= en.latency_s and en.energy_j <= lat.energy_j
    assert mixed.energy_j == pytest.approx(en.energy_j) and mixed.latency_s == pytest.approx(en.latency_s)
    with pytest.raises(backend.BackendError, match="not in graph"):
        backend.estimate(g, hw, op_targets={"nope": "edp"})


@pytest.mark.parametrize("target", ["latency", "energy"])
def test_sweep_targets_and_infeasible(towers, target):
    _, txt = towers
    hws = [backend.edge_hardware(cores=2, pe_cols=16),
           backend.presets.get("systolic-edge").with_knobs(local_buffer_kb=0.001)]
    r = backend.sweep(txt, hws, target=target)
    e = backend.estimate(txt, hws[0], target=target)
    assert r.latency_s[0] == pytest.approx(e.latency_s, rel=1e-9) and r.feasible[0]
    assert not r.feasible[1] and math.isinf(r.latency_s[1]) and math.isinf(r.energy_j[1])


def test_schedule_renderings(towers):
    from backend.report import loop_nest, summary
    img, _ = towers
    est = backend.estimate(img, backend.edge_hardware(cores=4))
    nest = loop_nest(est.op("qk").schedule)
    assert nest[0].startswith("# -> global_buffer (chip") and nest[1].startswith("for b2 in range(12)")
    assert any(line.startswith("# -> local_buffer (per core") for line in nest)
    assert any("systolic" in line for line in nest)
    assert summary(est.op("split_q").schedule) == "free view"
    assert summary(est.op("softmax").schedule).startswith("vector softmax: 2 cyc/elem on 1024 lanes")
    assert "DMA copy" in summary(est.op("tokens").schedule)
