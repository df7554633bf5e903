"""Every op carries its place in the model (issue 12): torch module paths, ONNX namespaces or node names."""

import pytest

import frontend
import ir
from frontend import zoo


def contraction_sources(g: ir.Graph) -> list[str]:
    return [o.source for o in g.ops if ir.is_contraction(o)]


def test_torch_ops_carry_module_paths_and_blocks_show_the_pattern():
    g = frontend.load("frontend.zoo:vit", fuse=False)
    assert contraction_sources(g) == ["stem", "blocks.*.attn.q", "blocks.*.attn.k", "blocks.*.attn.v", "blocks.*.attn",
                                      "blocks.*.attn", "blocks.*.attn.o", "blocks.*.up", "blocks.*.down", "head"]
    (up,) = [o for o in g.ops if ir.is_contraction(o) and o.dims == {"m": 17, "n": 512, "k": 128}]
    assert up.source == "blocks.*.up"
    unfolded = frontend.load_module(*zoo.vit(), fold=False)
    ups = [o.source for o in unfolded.ops if ir.is_contraction(o) and o.dims == {"m": 17, "n": 512, "k": 128}]
    assert ups == ["blocks.0.up", "blocks.1.up"]
    assert all(len(o.provenance) == 2 for o in unfolded.ops)  # the Relax binding and the torch.export node


def test_vit_b16_ffn_up_projection_is_named_after_its_module():
    """The FFN up-projection of ViT-B/16 (197 tokens x 768 -> 3072) is ``visual.transformer.resblocks.*.mlp.c_fc``."""
    g = frontend.load("openclip:ViT-B-16", tower="image", fuse=False)
    (up,) = [o for o in g.ops if ir.is_contraction(o) and o.dims == {"m": 197, "n": 3072, "k": 768}]
    assert up.source == "visual.transformer.resblocks.*.mlp.c_fc"
    (down,) = [o for o in g.ops if ir.is_contraction(o) and o.dims == {"m": 197, "n": 768, "k": 3072}]
    assert down.source == "visual.transformer.resblocks.*.mlp.c_proj"
    assert [o.source for o in g.ops if o.kind == ir.OpKind.CONV] == ["visual.conv1"]
    assert ir.find_op(g, "visual.transformer.resblocks.3.mlp.c_fc") is up
    assert ir.totals(g).macs == 17_563_453_440
    from frontend.openclip import create_model
    assert ir.totals(g).param_count == sum(p.numel() for p in create_model("ViT-B-16").visual.parameters())


def _tiny_onnx(path, namespaced: bool):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    mm = helper.make_node("MatMul", ["x", "w"], ["h"], name="node_MatMul_7")
    act = helper.make_node("Relu", ["h"], ["y"], name="node_relu")
    if namespaced:
        for node, scopes in ((mm, "['', 'encoder', 'encoder.fc', 'linear']"), (act, "['', 'relu']")):
            node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=scopes)
    graph = helper.make_graph([mm, act], "g", [x], [y], initializer=[w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("namespaced, expect", [(True, ["encoder.fc", ""]), (False, ["node_MatMul_7", "node_relu"])])
def test_onnx_ops_carry_namespace_or_node_name(tmp_path, namespaced, expect):
    g = frontend.load(str(_tiny_onnx(tmp_path / "m.onnx", namespaced)), fuse=False)
    assert [o.source for o in g.ops] == expect
    assert [o.provenance[-1] for o in g.ops] == ["node_MatMul_7", "node_relu"]


@pytest.mark.slow
def test_onnx_path_names_match_torch_path(tmp_path):
    import torch

    module, inputs = zoo.vit()
    path = tmp_path / "vit.onnx"
    torch.onnx.export(module, inputs, str(path), dynamo=True, external_data=False)
    onnx_g, torch_g = frontend.load(str(path), fuse=False), frontend.load_module(module, inputs)
    assert contraction_sources(onnx_g) == contraction_sources(torch_g)
    assert ir.totals(onnx_g).macs == ir.totals(torch_g).macs


def test_ir_json_keeps_sources(tmp_path):
    g = frontend.load("frontend.zoo:gpt2", fuse=False)
    ir.save(g, tmp_path / "g.json")
    back = ir.load(tmp_path / "g.json")
    assert back == g and "blocks.*.attn.q" in [o.source for o in back.ops]
