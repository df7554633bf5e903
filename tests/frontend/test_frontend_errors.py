"""Bad input gets a clear, typed error naming what is wrong, never a deep traceback."""

import pytest

import frontend
from frontend import ModelFileError, ModelSpecError, UnboundDimensionError, UnsupportedOpError


def tiny_onnx(path, op_type="Relu", domain="", dynamic=False):
    import onnx
    from onnx import TensorProto, helper

    dim = "batch" if dynamic else 2
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [dim, 4])
    node = helper.make_node(op_type, ["x"], ["y"], name="the_node", domain=domain)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=opsets)
    onnx.save(model, str(path))
    return path


def test_valid_tiny_onnx_lowers(tmp_path):
    g = frontend.load(str(tiny_onnx(tmp_path / "ok.onnx")))
    assert [op.fn for op in g.ops] == ["relu"]


def test_truncated_onnx_file(tmp_path):
    p = tiny_onnx(tmp_path / "m.onnx")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"m\.onnx"):
        frontend.load(str(p))


def test_garbage_onnx_file(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_bytes(b"\x00\x01 this is not a protobuf \xff" * 10)
    with pytest.raises(ModelFileError, match="junk.onnx"):
        frontend.load(str(p))


def test_missing_onnx_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such ONNX file"):
        frontend.load(str(tmp_path / "absent.onnx"))


def test_unknown_op_names_type_and_node(tmp_path):
    p = tiny_onnx(tmp_path / "custom.onnx", op_type="FancyGelu", domain="com.example")
    with pytest.raises(UnsupportedOpError, match=r"node 'the_node' has op type 'FancyGelu' \(domain 'com.example'\)"):
        frontend.load(str(p))


def test_unbound_dynamic_dimension_names_input_and_option(tmp_path):
    p = tiny_onnx(tmp_path / "dyn.onnx", dynamic=True)
    with pytest.raises(UnboundDimensionError, match=r"input 'x' has dynamic dimension 'batch'.*--dim batch=N"):
        frontend.load(str(p))
    g = frontend.load(str(p), dims={"batch": 3})
    assert g.tensors[g.inputs[0]].shape == (3, 4)
    g = frontend.load(str(p), shapes={"x": [5, 4]})
    assert g.tensors[g.inputs[0]].shape == (5, 4)


@pytest.mark.parametrize("spec, message", [
    ("resnet-9000", "names no known model"),
    ("openclip:ViT-Nope-1", "unknown open_clip architecture"),
    ("gemm:1,2", "expected three positive integers"),
    ("gemm:0,2,3", "M must be a positive integer"),
    ("nonexistent_pkg_xyz:build", "cannot import module"),
    ("frontend.zoo:nothing_here", "has no callable 'nothing_here'"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ModelSpecError, match=message):
        frontend.load(spec)


def test_bad_tower():
    with pytest.raises(ModelSpecError, match="tower must be one of"):
        frontend.load("openclip:ViT-B-32", tower="audio")


def test_cli_prints_one_line_not_a_traceback(tmp_path, capsys):
    from search.cli import main

    assert main(["lower", "gemm:1,2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("catx lower: error: gemm spec") and "Traceback" not in err


def test_gemm_spec_counts():
    import ir
    g = frontend.load("gemm:64,128,256")
    assert ir.totals(g).macs == 64 * 128 * 256 and ir.totals(g).param_count == 128 * 256
