"""Fused attention and fused epilogues in the backend: FlashAttention's IO in closed form, scores never reach DRAM,
causal blocks skipped, the unfused fallback, estimate = sweep; epilogues overlap their GEMM."""

import math

import pytest

import backend
import frontend
import ir
from backend.attention import AttentionShape, _pairs


@pytest.fixture(scope="module")
def gpt2():
    return ir.fuse(frontend.load("frontend.zoo:gpt2"))


@pytest.fixture(scope="module")
def long_gpt2():
    """A GPT-2-style decoder at 512 tokens, attention fused (causal, 4 heads of 16)."""
    from frontend import zoo
    return ir.fuse(frontend.load_module(*zoo.gpt2(seq=512, max_len=512), name="gpt2_512"))


def _attention_graph(heads=4, seq=256, d=64, causal=False):
    """One fused attention op built by hand: Q, K, V of (heads, seq, d) in DRAM."""
    g = ir.Graph("attn")
    for n in ("q", "k", "v"):
        g.add_tensor(n, (heads, seq, d), 8, ir.TensorRole.INPUT)
    g.add_tensor("o", (heads, seq, d), 8)
    g.inputs, g.outputs = ["q", "k", "v"], ["o"]
    g.ops.append(ir.Op("attn", ir.OpKind.ATTENTION, {"h": heads, "q": seq, "kv": seq, "d": d, "dv": d},
                       [ir.Access("q", ("h", "q", "d")), ir.Access("k", ("h", "kv", "d")),
                        ir.Access("v", ("h", "kv", "dv"))], ir.Access("o", ("h", "q", "dv")),
                       reduce=("kv", "d"), fn="attention", attrs={"causal": causal, "kv_groups": 1}))
    return g


def test_fused_attention_io_is_flashattentions():
    """K and V are read once per query block, Q read and O written once; the scores never leave the chip."""
    g = _attention_graph(heads=4, seq=512, d=64)
    hw = backend.presets.get("systolic-edge")
    est = backend.estimate(g, hw, attention="fused")
    s = est.ops[0].schedule
    assert s["fused"] and s["unit"] == "attention"
    bq, q1, heads = s["block_q"], s["q_per_core"], s["heads_per_core"]
    assert s["kv_bytes_streamed"] == heads * math.ceil(q1 / bq) * 512 * (64 + 64) * hw.cores   # int8
    # DRAM sees Q, K, V once (they fit the global buffer per head) and O once: 4 x 4 x 512 x 64 bytes
    dram_bits = est.energy_by_component_j["dram"] / hw.tech.dram_energy_j_per_bit("LPDDR4")
    assert dram_bits == pytest.approx(4 * 4 * 512 * 64 * 8, rel=1e-9)
    assert est.macs == ir.macs(g.ops[0]) == 4 * 512 * 512 * 128


def test_scores_stay_on_chip_at_long_sequences(long_gpt2):
    """Unfused, every head's 512 x 512 scores go to DRAM and back (they overflow the global buffer); fused, DRAM
    sees only Q, K, V and O."""
    att = next(o for o in long_gpt2.ops if o.kind == ir.OpKind.ATTENTION)
    shape = AttentionShape.of(att)
    hw = backend.presets.get("systolic-edge")
    fused = backend.estimate(long_gpt2, hw, attention="fused").op(att.name)
    unfused = backend.estimate(long_gpt2, hw, attention="unfused").op(att.name)
    per_bit = hw.tech.dram_energy_j_per_bit("LPDDR4")
    scores_bits = shape.heads * shape.q * shape.kv * 8
    assert unfused.energy_by_component_j["dram"] / per_bit >= 2 * scores_bits
    assert fused.energy_by_component_j["dram"] / per_bit <= 4 * shape.heads * shape.q * shape.d * 8 * (1 + 1e-9)
    assert shape.causal and shape.q == shape.kv == 512
    # on a 256 x 8 systolic array without PE-local reuse, the small block GEMMs pay fill and drain each time, so
    # fusing need not be faster there; "best" takes whichever scores better
    best = backend.estimate(long_gpt2, hw, attention="best").op(att.name)
    assert best.latency_s * best.energy_j == pytest.approx(min(fused.latency_s * fused.energy_j,
                                                               unfused.latency_s * unfused.energy_j))


def test_causal_blocks_past_the_diagonal_are_skipped():
    s = AttentionShape(1, 512, 512, 64, 64, True, 0)
    import numpy as np
    for bq, bk in [(64, 64), (128, 32), (512, 512), (100, 7)]:
        got = float(_pairs(512, np.array(bq), 512, np.array(bk), True))
        want = sum(min(math.ceil(512 / bk), math.ceil(min((i + 1) * bq, 512) / bk)) for i in range(math.ceil(512 / bq)))
        assert got == want
    hw = backend.presets.get("systolic-edge")
    full = backend.estimate(_attention_graph(seq=512, causal=False), hw, attention="fused").ops[0].schedule
    half = backend.estimate(_attention_graph(seq=512, causal=True), hw, attention="fused").ops[0].schedule
    assert half["macs_performed"] < 0.6 * full["macs_performed"]
    assert s.macs == 512 * 512 * 128


def test_unfused_fallback_when_no_block_fits(gpt2):
    hw = backend.presets.get("systolic-edge").with_knobs(local_buffer_kb=0.25)      # 256 B: no Q/K/V block fits
    est = backend.estimate(gpt2, hw, attention="fused")
    att = next(r for r in est.ops if r.kind == "attention")
    assert att.schedule["fused"] is False and att.schedule["fallback"] is True
    with pytest.raises(backend.MappingError, match="fits no block"):     # built by hand: nothing to fall back to
        backend.estimate(_attention_graph(heads=2, seq=128, d=64), hw, attention="fused")


def test_modes_and_sweep_agree_on_a_fused_model(gpt2):
    assert any(o.kind == ir.OpKind.ATTENTION for o in gpt2.ops)
    assert any(o.attrs.get("epilogue") for o in gpt2.ops)
    hws = [backend.presets.get("catransformers-edge"), backend.presets.get("systolic-edge"),
           backend.presets.get("tpu-like"), backend.edge_hardware(cores=2, pe_cols=16)]
    for mode in ("best", "fused", "unfused"):
        r = backend.sweep(gpt2, hws, attention=mode)
        for i, hw in enumerate(hws):
            est = backend.estimate(gpt2, hw, attention=mode)
            assert r.latency_s[i] == pytest.approx(est.latency_s, rel=1e-12), (mode, hw.name)
            assert r.energy_j[i] == pytest.approx(est.energy_j, rel=1e-12), (mode, hw.name)
    best = backend.estimate(gpt2, hws[0], attention="best")
    for mode in ("fused", "unfused"):
        other = backend.estimate(gpt2, hws[0], attention=mode)
        assert best.latency_s * best.energy_j <= other.latency_s * other.energy_j * (1 + 1e-12)
    with pytest.raises(backend.BackendError, match="attention mode"):
        backend.estimate(gpt2, hws[0], attention="sometimes")


def test_fused_epilogue_overlaps_its_gemm_and_keeps_work(gpt2):
    plain = frontend.load("frontend.zoo:gpt2", fuse=False)
    hw = backend.presets.get("catransformers-edge")
    a, b = backend.estimate(plain, hw), backend.estimate(gpt2, hw, attention="unfused")
    assert a.macs == b.macs
    epi = [r for r in b.ops if r.schedule.get("epilogue")]
    assert epi and all(r.energy_by_component_j["vector"] > 0 for r in epi)
    for r in epi:
        assert r.cycles == max(r.schedule["cycles_by_term"].values()) or r.cycles >= r.schedule["epilogue_cycles"]
    assert b.latency_s < a.latency_s          # epilogues no longer round-trip their intermediates


def test_inspect_shows_the_fused_loop_nest(tmp_path, capsys, gpt2):
    from search.cli import main
    p = tmp_path / "g.json"
    ir.save(gpt2, p)
    att = next(o for o in gpt2.ops if o.kind == ir.OpKind.ATTENTION)
    assert main(["inspect", str(p), "--hw", "catransformers-edge", "--op", att.name]) == 0
    out = capsys.readouterr().out
    assert "fused attention on local_buffer: blocks of" in out and "online softmax" in out
    assert "for kb in key blocks up to the diagonal" in out          # GPT-2 is causal


def test_attention_is_a_schedule_knob_of_studies():
    """A study may search how attention runs; on a model without fused attention the knob is accepted and noted."""
    from search.evaluate import Evaluator
    from search.study import SCHEDULE_KNOBS, StudySpec
    assert SCHEDULE_KNOBS["attention"] == ("best", "fused", "unfused")
    spec = StudySpec.model_validate({"name": "s", "model": {"spec": "gemm:64,64,64"},
                                     "hardware": {"knobs": {"cores": [1, 2]}},
                                     "schedule": {"knobs": {"attention": ["fused", "unfused"]}},
                                     "objectives": ["latency_s"]})
    ev = Evaluator(spec)
    assert ev.notes == ["schedule.knobs.attention has no effect: the model has no fused attention op"]
    a = ev.metrics({**ev.base_values(), "cores": 1, "attention": "fused"})[0]
    b = ev.metrics({**ev.base_values(), "cores": 1, "attention": "unfused"})[0]
    assert a["latency_s"] == b["latency_s"]
