"""IR core: validation names the fault, JSON round-trips exactly, derived counts match closed forms."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ir
from ir import Access, Graph, Op, OpKind, TensorRole


def mlp_stack(layers: int, m: int = 4, d: int = 8, f: int = 16) -> Graph:
    """``layers`` identical (matmul d->f, gelu, matmul f->d, residual add) blocks after an input projection."""
    g = Graph("mlp")
    g.add_tensor("x", (m, d), role=TensorRole.INPUT)
    g.add_tensor("w_in", (d, d), role=TensorRole.PARAM)
    g.add_tensor("h", (m, d))
    g.inputs = ["x"]
    g.ops.append(Op("proj", OpKind.MATMUL, {"m": m, "n": d, "k": d},
                    [Access("x", ("m", "k")), Access("w_in", ("k", "n"))], Access("h", ("m", "n")), reduce=("k",)))
    prev = "h"
    for i in range(layers):
        for t, shape, role in ((f"w1_{i}", (d, f), TensorRole.PARAM), (f"w2_{i}", (f, d), TensorRole.PARAM),
                               (f"a{i}", (m, f), TensorRole.ACTIVATION), (f"b{i}", (m, f), TensorRole.ACTIVATION),
                               (f"c{i}", (m, d), TensorRole.ACTIVATION), (f"r{i}", (m, d), TensorRole.ACTIVATION)):
            g.add_tensor(t, shape, role=role)
        g.ops += [
            Op(f"up{i}", OpKind.MATMUL, {"m": m, "n": f, "k": d},
               [Access(prev, ("m", "k")), Access(f"w1_{i}", ("k", "n"))], Access(f"a{i}", ("m", "n")), reduce=("k",)),
            Op(f"gelu{i}", OpKind.ELEMENTWISE, {"i": m, "j": f}, [Access(f"a{i}", ("i", "j"))],
               Access(f"b{i}", ("i", "j")), fn="gelu"),
            Op(f"down{i}", OpKind.MATMUL, {"m": m, "n": d, "k": f},
               [Access(f"b{i}", ("m", "k")), Access(f"w2_{i}", ("k", "n"))], Access(f"c{i}", ("m", "n")),
               reduce=("k",)),
            Op(f"res{i}", OpKind.ELEMENTWISE, {"i": m, "j": d}, [Access(f"c{i}", ("i", "j")), Access(prev, ("i", "j"))],
               Access(f"r{i}", ("i", "j")), fn="add"),
        ]
        prev = f"r{i}"
    g.outputs = [prev]
    return ir.validate(g)


@pytest.mark.parametrize("layers", [1, 2, 5, 12])
def test_closed_form_counts_and_folding(layers):
    m, d, f = 4, 8, 16
    g = mlp_stack(layers, m, d, f)
    expect_macs = m * d * d + layers * (2 * m * d * f)
    expect_vec = layers * (m * f + m * d)
    expect_params = d * d + layers * 2 * d * f
    t = ir.totals(g)
    assert (t.macs, t.vector_ops, t.param_count) == (expect_macs, expect_vec, expect_params)
    folded = ir.validate(ir.fold_repeats(g))
    tf = ir.totals(folded)
    assert (tf.macs, tf.vector_ops, tf.param_count, tf.ops) == (expect_macs, expect_vec, expect_params, 1 + 4 * layers)
    if layers >= 2:
        assert len(folded.blocks) == 1 and folded.blocks[0].repeat == layers
        assert tf.stored_ops == 1 + 4
        assert folded.outputs[0] in folded.tensors
    else:
        assert not folded.blocks


def test_arithmetic_intensity_of_a_gemm():
    g = mlp_stack(1)
    op = g.op("up0")  # 4x8 @ 8x16: 512 MACs over (32 + 128 + 64) bytes at 8 bits
    assert ir.macs(op) == 512
    assert ir.arithmetic_intensity(op, g) == pytest.approx(512 / 224)


def test_validation_names_op_tensor_and_axis():
    g = mlp_stack(1)
    g.tensors["w1_0"].shape = (8, 15)
    with pytest.raises(ir.IRValidationError, match=r"op 'up0'.*'w1_0' axis 1 has size 15.*dim 'n' has size 16"):
        ir.validate(g)


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g.ops[1].inputs.__setitem__(0, Access("nope", ("m", "k"))), "'nope' is not declared"),
    (lambda g: setattr(g.ops[1], "reduce", ("z",)), "reduction dim 'z'"),
    (lambda g: g.ops[1].dims.__setitem__("n", 0), "sizes must be integers >= 1"),
    (lambda g: (setattr(g.ops[1].output, "index", ("m", "k")), setattr(g.tensors["a0"], "shape", (4, 8))),
     "output indexed by reduction dim"),
    (lambda g: g.ops.reverse(), "before any op produces it"),
    (lambda g: setattr(g.ops[2].inputs[0], "index", ("i",)), "rank 2 but its index map"),
])
def test_validation_errors(mutate, message):
    g = mlp_stack(1)
    mutate(g)
    with pytest.raises(ir.IRValidationError, match=message):
        ir.validate(g)


def test_padded_windows_need_the_flag():
    g = Graph("conv")
    g.add_tensor("x", (1, 10), role=TensorRole.INPUT)
    g.add_tensor("w", (3,), role=TensorRole.PARAM)
    g.add_tensor("y", (1, 10))
    g.inputs, g.outputs = ["x"], ["y"]
    g.ops.append(Op("c", OpKind.CONV, {"n": 1, "o": 10, "k": 3}, [Access("x", ("n", "o+k-1")), Access("w", ("k",))],
                    Access("y", ("n", "o")), reduce=("k",)))
    with pytest.raises(ir.IRValidationError, match=r"reaches positions -1..10"):
        ir.validate(g)
    g.ops[0].attrs["padded"] = True
    assert ir.macs(ir.validate(g).ops[0]) == 30


def test_json_round_trip_is_exact(tmp_path):
    g = ir.fold_repeats(mlp_stack(3))
    g.meta["note"] = {"a": [1, 2.5, None]}
    g.ops[0].attrs["strides"] = [2, 2]
    assert ir.from_json(ir.to_json(g)) == g
    path = tmp_path / "g.json"
    ir.save(g, path)
    assert ir.load(path) == g
    assert json.loads(path.read_text())["version"] == 2


@pytest.mark.parametrize("doc, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a CATX IR document"),
    ('{"format": "catx-ir", "version": 99}', "version 99 is not supported"),
    ('{"format": "catx-ir", "version": 1, "name": "g", "inputs": [], "outputs": []}', "missing field 'tensors'"),
    ('{"format": "catx-ir", "version": 1, "name": "g", "inputs": [], "outputs": [], "tensors": '
     '[{"name": "x", "shape": [1], "bits": 8, "role": "weird"}], "ops": []}', "'weird' is not a valid TensorRole"),
])
def test_json_errors_name_the_field(doc, message):
    with pytest.raises(ir.IRFormatError, match=message):
        ir.from_json(doc, "model.json")


@settings(max_examples=30, deadline=None)
@given(layers=st.integers(1, 6), m=st.integers(1, 9), d=st.integers(1, 9), f=st.integers(1, 9))
def test_folding_preserves_totals(layers, m, d, f):
    g = mlp_stack(layers, m, d, f)
    a, b = ir.totals(g), ir.totals(ir.fold_repeats(g))
    assert (a.macs, a.vector_ops, a.param_count, a.ops) == (b.macs, b.vector_ops, b.param_count, b.ops)
    assert ir.from_json(ir.to_json(ir.fold_repeats(g))) == ir.fold_repeats(g)


def test_index_expressions():
    from ir import index as ix
    assert ix.parse("oh*2+kh-1") == ((("oh", 2), ("kh", 1)), -1)
    assert ix.span("oh*2+kh-1", {"oh": 4, "kh": 3}) == (-1, 7)
    assert ix.dims_of("@floordiv(a*4+b,3)") == ("a", "b")
    assert ix.is_plain("m") and not ix.is_plain("2*m") and not ix.is_plain("0")
    with pytest.raises(ir.IRValidationError, match="cannot read term"):
        ix.parse("m*n")


def test_dump_lists_blocks_and_totals():
    text = ir.dump(ir.fold_repeats(mlp_stack(3)))
    assert "block block0 x3 {" in text and "MACs=3.33k" in text  # 4*8*8 + 3*2*4*8*16 = 3328
