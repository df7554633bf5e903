"""Transformer families built in torch from config lower through torch.export (and, dense ones, through ONNX)."""

import pytest

import frontend
import ir
from frontend import zoo


def layer_macs(t: int, w: int, ffn: int, kv: int | None = None, gated: bool = False) -> int:
    """One layer: Q and O projections, K and V (kv = width of the K/V projections), scores, A.V, the MLP."""
    kv = w if kv is None else kv
    return 2 * t * w * w + 2 * t * w * kv + 2 * t * t * w + (3 if gated else 2) * t * w * ffn


CLOSED_FORM = {
    "bert": 2 * layer_macs(32, 128, 512) + 128 * 128,
    "gpt2": 2 * layer_macs(32, 128, 512) + 32 * 128 * 1000,
    "vit": 16 * 128 * 3 * 16 * 16 + 2 * layer_macs(17, 128, 512) + 128 * 10,
    "llama": 2 * layer_macs(32, 128, 352, kv=64, gated=True) + 32 * 128 * 1000,
    "whisper": 200 * 128 * 80 * 3 + 100 * 128 * 128 * 3 + 2 * layer_macs(100, 128, 512),
    "clip_text": 2 * layer_macs(32, 128, 512) + 128 * 128,
    "clip_image": 16 * 128 * 3 * 8 * 8 + 2 * layer_macs(17, 128, 512) + 128 * 128,
    # attention as llama's (no MLP), the router (4 experts), then gate, up, down for 2 of 4 experts per token
    "mixtral": 2 * (layer_macs(32, 128, 0, kv=64) + 32 * 128 * 4 + 3 * 32 * 2 * 128 * 256) + 32 * 128 * 1000,
}
# torch.onnx cannot export torch's grouped matmul (aten._grouped_mm has no ONNX function): MoE is torch-path only
ALL = {**zoo.ARCHITECTURES, **zoo.MIXTURE_OF_EXPERTS}


@pytest.mark.parametrize("arch", sorted(ALL))
def test_torch_path_matches_closed_form(arch):
    g = frontend.load(f"frontend.zoo:{arch}")
    assert ir.totals(g).macs == CLOSED_FORM[arch]
    assert [b.repeat for b in g.blocks] == [2], f"{arch}: the two identical layers should fold into one block"


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(zoo.ARCHITECTURES))
def test_onnx_path_equals_torch_path(tmp_path, arch):
    import torch

    module, inputs = zoo.ARCHITECTURES[arch]()
    path = tmp_path / f"{arch}.onnx"
    torch.onnx.export(module, inputs, str(path), dynamo=True, external_data=False)
    g = frontend.load(str(path))
    assert ir.totals(g).macs == CLOSED_FORM[arch]
    kinds = {op.kind for op in g.ops}
    assert ir.OpKind.MATMUL in kinds or ir.OpKind.BATCH_MATMUL in kinds


def test_model_specs_name_the_family():
    g = frontend.load("frontend.zoo:llama", fuse=False)     # the importer's own ops
    fns = {op.fn for op in g.ops}
    assert {"rsqrt", "softmax", "negative"} <= fns  # RMSNorm, attention, rotary's rotate_half
    assert fns & {"silu", "sigmoid"}  # the SiLU gate (torch.export may decompose it to x * sigmoid(x))
