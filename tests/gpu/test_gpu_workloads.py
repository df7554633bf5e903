"""GPU benchmark workloads: published parameter counts, closed-form MACs against the IR, a split that covers all."""

from __future__ import annotations

import collections

import pytest

import bench.gpu_workloads as W


def test_ids_are_stable_and_unique():
    assert len(W.WORKLOADS) == 123  # 28 CLIP towers x 3 batches + 39 stack points; renaming breaks the results file
    assert all(w.id.isidentifier() for w in W.WORKLOADS.values())
    assert W.workload("gpt2_medium_s1024_b64").seq == 1024
    with pytest.raises(KeyError, match="no GPU workload 'nope'"):
        W.workload("nope")


@pytest.mark.parametrize("wid, published", [
    ("bert_base_s512_b1", 109_482_240),      # Hugging Face bert-base-uncased (512 positions, pooler)
    ("bert_large_s512_b1", 335_141_888),     # bert-large-uncased
    ("gpt2_medium_s1024_b1", 354_823_168),   # gpt2-medium (1024 positions, tied head)
    ("vit_large_i224_b1", 304_326_632),      # timm vit_large_patch16_224
])
def test_stack_parameter_counts_equal_published_models(wid, published):
    assert W.workload(wid).params() == published


def test_clip_b16_towers_equal_open_clip():
    open_clip = pytest.importorskip("open_clip")
    m = open_clip.create_model("ViT-B-16", pretrained=None)
    visual = sum(p.numel() for p in m.visual.parameters())
    text = sum(p.numel() for p in m.parameters()) - visual - m.logit_scale.numel()
    assert W.workload("clip_clip_b16_image_b1").params() == visual
    assert W.workload("clip_clip_b16_text_b1").params() == text


def test_clip_b16_macs_equal_the_readme_closed_forms():
    assert W.workload("clip_clip_b16_image_b1").macs() == 17_563_453_440
    assert W.workload("clip_clip_b16_text_b1").macs() == 2_979_770_368
    assert W.workload("clip_clip_b16_image_b64").macs() == 64 * 17_563_453_440


def test_split_covers_every_family_batch_and_length_in_both_halves():
    ws = list(W.WORKLOADS.values())
    for split in W.SPLITS:
        part = [w for w in ws if w.split == split]
        assert {w.arch.family for w in part} == {w.arch.family for w in ws}, split
        assert {w.batch for w in part} == set(W.BATCHES), split
        for name in W.STACKS:
            stack = [w for w in part if w.arch.name == name]
            assert {w.seq for w in stack} == {w.seq for w in ws if w.arch.name == name}, (split, name)
            assert {w.batch for w in stack} == set(W.BATCHES), (split, name)
    # the union of the four checkerboards holds every (sequence length, batch) cell of every stack in holdout
    cells = collections.defaultdict(set)
    for w in ws:
        if w.arch.family in ("bert", "gpt2") and w.split == "holdout":
            cells[w.arch.family].add((w.seq, w.batch))
    assert cells["bert"] == {(n, b) for n in (128, 512, 1024) for b in W.BATCHES}
    # a CLIP design is split as a whole: both towers and all batches on one side
    for key in list(W.CLIP_DESIGNS) + list(W.CLIP_RANDOM):
        assert len({w.split for w in ws if w.arch.name.startswith(key + "_")}) == 1, key


def test_random_configurations_are_legal_points_of_the_paper_space():
    for text, vision in W.CLIP_RANDOM.values():
        layers, ffn, width, heads = text
        assert 6 <= layers <= 12 and ffn in range(1024, 2049, 256) and width in range(256, 513, 64) and 4 <= heads <= 8
        layers, ffn, width, heads = vision
        assert 6 <= layers <= 12 and ffn in range(1536, 3073, 384) and width in range(384, 769, 96)
        assert 6 <= heads <= 12


@pytest.mark.slow
@pytest.mark.parametrize("wid", ["clip_carbonclip_s_image_b1", "clip_carbonclip_s_text_b8", "bert_base_s128_b1",
                                 "vit_large_i224_b1", "gpt2_medium_s128_b8"])
def test_closed_form_macs_equal_the_lowered_ir(wid):
    import frontend
    import ir
    w = W.workload(wid)
    g = frontend.load_module(*w.build(layers=2), bits=16)
    assert ir.totals(g).macs == w.macs(layers=2)


def test_module_spec_lowers_a_workload_by_id():
    import frontend
    import ir
    g = frontend.load("bench.gpu_workloads:clip_tinyclip_8m16_text_b1", bits=16)
    assert ir.totals(g).macs == W.workload("clip_tinyclip_8m16_text_b1").macs()
    assert g.meta["spec"] == "bench.gpu_workloads:clip_tinyclip_8m16_text_b1"
