"""Ops with no table row are legalised to TensorIR and described from their loop nests."""

import pytest

import ir
from frontend import UnsupportedOpError
from frontend.relax_to_ir import relax_to_ir


def module(build, *inputs):
    from tvm import relax

    bb = relax.BlockBuilder()
    xs = [relax.Var(f"x{i}", relax.TensorType(shape, "float32")) for i, shape in enumerate(inputs)]
    with bb.function("main", xs):
        with bb.dataflow():
            gv = bb.emit_output(bb.emit(build(*xs)))
        bb.emit_func_output(gv)
    return bb.get()


def test_einsum_becomes_a_generic_contraction():
    from tvm import relax

    mod = module(lambda a, b: relax.op.einsum((a, b), "bij,bjk->bik"), (2, 3, 4), (2, 4, 5))
    g = relax_to_ir(mod, "einsum")
    (op,) = g.ops
    assert op.kind == ir.OpKind.GENERIC and op.fn == "multiply_reduce"
    assert sorted(op.dims.values()) == [2, 3, 4, 5] and len(op.reduce) == 1 and op.dims[op.reduce[0]] == 4
    assert ir.is_contraction(op) and ir.macs(op) == 2 * 3 * 4 * 5


def test_group_norm_reduces_each_group():
    from tvm import relax

    def gn(x, gamma, beta):
        return relax.op.nn.group_norm(x, gamma, beta, num_groups=4, channel_axis=1, axes=[2, 3])

    g = relax_to_ir(module(gn, (1, 16, 8, 8), (16,), (16,)), "gn")
    assert all(op.kind == ir.OpKind.GENERIC for op in g.ops)
    reductions = [op for op in g.ops if op.fn == "reduce"]
    assert reductions, [op.fn for op in g.ops]
    for op in reductions:  # each group: 16/4 channels x 8 x 8 positions summed into one (batch, group) value
        summed = 1
        for d in op.reduce:
            summed *= op.dims[d]
        assert summed == 4 * 8 * 8
        assert g.tensors[op.output.tensor].numel == 1 * 4
    assert g.tensors[g.outputs[0]].shape == (1, 16, 8, 8)


def test_padded_convolution_is_an_affine_window():
    from tvm import relax

    conv = module(lambda x, w: relax.op.nn.conv1d(x, w, padding=1), (2, 8, 16), (4, 8, 3))
    g = relax_to_ir(conv, "conv")
    (op,) = g.ops  # the dedicated rule: a padded window is an affine read with offset -1
    assert op.kind == ir.OpKind.CONV and op.attrs["padded"] is True
    assert op.inputs[0].index == ("n", "ic", "oh+kh-1")
    assert ir.macs(op) == 2 * 4 * 16 * 8 * 3
    op.attrs.pop("padded")
    with pytest.raises(ir.IRValidationError, match="reaches positions -1..16"):
        ir.validate(g)


def test_op_without_rule_or_legalisation_is_named():
    from tvm import relax

    mod = module(lambda x: relax.op.ewise_fma(x, x, x), (8,))
    with pytest.raises(UnsupportedOpError, match=r"node 'lv': op 'relax.ewise_fma' has no CATX rule"):
        relax_to_ir(mod, "fma")


def test_already_legalised_module_converts_its_call_tir():
    from tvm import relax

    mod = relax.transform.LegalizeOps()(module(lambda x: relax.op.nn.log_softmax(x, axis=-1), (2, 8, 16)))
    g = relax_to_ir(mod, "log_softmax")
    reductions = [op for op in g.ops if op.fn == "reduce"]
    assert len(reductions) == 2  # the row max, then the sum of exponentials, each over the 16-wide axis
    assert all(len(op.reduce) == 1 and op.dims[op.reduce[0]] == 16 for op in reductions)
    assert g.tensors[g.outputs[0]].shape == (2, 8, 16)
