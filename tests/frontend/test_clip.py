"""CLIP ViT-B/16 towers lower through torch and ONNX to the MACs of an independent closed-form count."""

import pytest

import frontend
import ir


def vit_macs(width: int, layers: int, heads: int, mlp: int, tokens: int, patch_in: int = 0, patches: int = 0,
             proj_rows: int = 1, proj_out: int = 512, head_dim: int = 64) -> int:
    """Closed form: per layer QKV, Q.K^T, A.V, output projection and the two FFN matmuls; plus stem and projection."""
    inner = heads * head_dim
    per_layer = (tokens * width * 3 * inner + 2 * heads * tokens * tokens * head_dim + tokens * inner * width
                 + 2 * tokens * width * mlp)
    return layers * per_layer + patches * width * patch_in + proj_rows * width * proj_out


IMAGE_B16 = vit_macs(width=768, layers=12, heads=12, mlp=3072, tokens=197, patch_in=3 * 16 * 16, patches=196)
TEXT_B16 = vit_macs(width=512, layers=12, heads=8, mlp=2048, tokens=77)


def test_closed_forms_match_the_published_scale():
    assert IMAGE_B16 / 1e9 == pytest.approx(17.56, abs=0.01)
    assert TEXT_B16 / 1e9 == pytest.approx(2.98, abs=0.01)
    assert (IMAGE_B16, TEXT_B16) == (17_563_453_440, 2_979_770_368)   # the README's exact figures


@pytest.fixture(scope="module")
def b16():
    return {t: frontend.load("openclip:ViT-B-16", tower=t, fuse=False) for t in ("image", "text")}


@pytest.mark.parametrize("tower, expect", [("image", IMAGE_B16), ("text", TEXT_B16)])
def test_torch_path_matches_closed_form(b16, tower, expect):
    g = b16[tower]
    assert ir.totals(g).macs == expect              # exact: 17,563,453,440 (image) and 2,979,770,368 (text)
    assert [b.repeat for b in g.blocks] == [12]
    assert len(g.ops) < 80  # one layer stored, not twelve


def test_executed_ops_count_every_repeat(b16):
    # stored ops: the ops outside the block plus one layer; executed: the block's ops once per layer
    for g in b16.values():
        t = ir.totals(g)
        (block,) = g.blocks
        assert t.ops == t.stored_ops + (block.repeat - 1) * len(block.ops)
        assert t.stored_ops == len(g.ops) and block.repeat == 12


def test_per_layer_gemm_shapes(b16):
    g = b16["image"]
    block = set(g.blocks[0].ops)
    shapes = sorted(tuple(op.dims.values()) for op in g.ops if op.name in block and ir.is_contraction(op))
    assert shapes == sorted([(197, 2304, 768), (12, 197, 197, 64), (12, 197, 64, 197), (197, 768, 768),
                             (197, 3072, 768), (197, 768, 3072)])


def test_both_towers_merge(b16):
    g = frontend.load("openclip:ViT-B-16", tower="both")
    assert ir.totals(g).macs == ir.totals(b16["image"]).macs + ir.totals(b16["text"]).macs
    assert sorted(b.repeat for b in g.blocks) == [12, 12]
    ir.validate(g)


def test_ir_json_round_trip_of_a_real_tower(b16):
    g = b16["text"]
    assert ir.from_json(ir.to_json(g)) == g


@pytest.mark.slow
@pytest.mark.parametrize("tower, expect", [("image", IMAGE_B16), ("text", TEXT_B16)])
def test_onnx_path_equals_torch_path(tmp_path, b16, tower, expect):
    import torch

    from frontend.openclip import create_model, tower_modules

    module, inputs = tower_modules(create_model("ViT-B-16"), tower)[tower]
    path = tmp_path / f"{tower}.onnx"
    torch.onnx.export(module, inputs, str(path), dynamo=True, external_data=False)
    g = frontend.load(str(path))
    assert ir.totals(g).macs == ir.totals(b16[tower]).macs == expect
