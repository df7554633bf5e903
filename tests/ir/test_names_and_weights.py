"""Source names, shared and derived weights, format version 2 and op look-up in the IR (issues 12 and 13)."""

import pytest

import ir
from ir import Access, Graph, Op, OpKind, TensorRole


def stack(layers: int, shared: bool, m: int = 4, d: int = 8, f: int = 16) -> Graph:
    """``layers`` (matmul d->f, matmul f->d) blocks; with ``shared`` every layer reads the same two weights."""
    g = Graph("stack")
    g.add_tensor("x", (m, d), role=TensorRole.INPUT)
    g.add_tensor("h", (m, d))
    g.inputs = ["x"]
    g.ops.append(Op("scale", OpKind.ELEMENTWISE, {"i": m, "j": d}, [Access("x", ("i", "j"))], Access("h", ("i", "j")),
                    fn="multiply", source="embed"))
    prev = "h"
    for i in range(layers):
        w1, w2 = ("w1", "w2") if shared else (f"w1_{i}", f"w2_{i}")
        g.add_tensor(w1, (d, f), role=TensorRole.PARAM)
        g.add_tensor(w2, (f, d), role=TensorRole.PARAM)
        g.add_tensor(f"a{i}", (m, f))
        g.add_tensor(f"b{i}", (m, d))
        g.ops += [Op(f"up{i}", OpKind.MATMUL, {"m": m, "n": f, "k": d},
                     [Access(prev, ("m", "k")), Access(w1, ("k", "n"))], Access(f"a{i}", ("m", "n")), reduce=("k",),
                     source=f"encoder.layer.{i}.up"),
                  Op(f"down{i}", OpKind.MATMUL, {"m": m, "n": d, "k": f},
                     [Access(f"a{i}", ("m", "k")), Access(w2, ("k", "n"))], Access(f"b{i}", ("m", "n")), reduce=("k",),
                     source=f"encoder.layer.{i}.down"),
                  Op(f"act{i}", OpKind.ELEMENTWISE, {"i": m, "j": d}, [Access(f"b{i}", ("i", "j"))],
                     Access(f"c{i}", ("i", "j")), fn="gelu", source=f"node_gelu_{3 * i + 1}")]
        g.add_tensor(f"c{i}", (m, d))
        prev = f"c{i}"
    g.outputs = [prev]
    return ir.validate(g)


@pytest.mark.parametrize("layers", [2, 3, 12])
def test_shared_layers_count_their_weights_once(layers):
    d, f = 8, 16
    for shared, expect in ((True, 2 * d * f), (False, layers * 2 * d * f)):
        g = stack(layers, shared)
        folded = ir.validate(ir.fold_repeats(g))
        assert len(folded.blocks) == 1 and folded.blocks[0].repeat == layers
        assert ir.totals(g).param_count == expect
        assert ir.totals(folded).param_count == expect, f"shared={shared}"
        assert ir.totals(folded).param_bytes == expect  # 8-bit weights
        others = folded.blocks[0].weights
        if shared:
            assert others == {"w1": ("w1",) * (layers - 1), "w2": ("w2",) * (layers - 1)}
        else:
            assert others == {"w1_0": tuple(f"w1_{i}" for i in range(1, layers)),
                              "w2_0": tuple(f"w2_{i}" for i in range(1, layers))}
        # a deeper copy of the same block: per-layer weights scale with depth, shared ones do not
        deeper = ir.Graph(**{**folded.__dict__, "blocks": [ir.Block(b.name, b.ops, 2 * b.repeat, b.weights)
                                                           for b in folded.blocks]})
        assert ir.totals(deeper).param_count == (expect if shared else 2 * expect)
        # a block that says nothing of its copies' weights: each copy has its own (the version-1 reading)
        silent = ir.Graph(**{**folded.__dict__, "blocks": [ir.Block(b.name, b.ops, b.repeat) for b in folded.blocks]})
        assert ir.totals(silent).param_count == layers * 2 * d * f


def test_a_weight_read_in_two_blocks_counts_once():
    """q, k, v projections fold into one block (copies read q, k, v); a second block reads k and q again."""
    g = Graph("qkv")
    g.add_tensor("x", (4, 8), role=TensorRole.INPUT)
    g.inputs = ["x"]
    for w in ("q", "k", "v"):
        g.add_tensor(w, (8, 8), role=TensorRole.PARAM)
    for i, w in enumerate(["q", "k", "v", "k", "q"]):
        g.add_tensor(f"y{i}", (4, 8))
        g.ops.append(Op(f"mm{i}", OpKind.MATMUL, {"m": 4, "n": 8, "k": 8}, [Access("x", ("m", "k")),
                                                                             Access(w, ("k", "n"))],
                        Access(f"y{i}", ("m", "n")), reduce=("k",)))
    g.outputs = [f"y{i}" for i in range(5)]
    folded = ir.validate(ir.fold_repeats(g, min_period=1))
    assert [b.repeat for b in folded.blocks] == [5] and folded.blocks[0].weights == {"q": ("k", "v", "k", "q")}
    assert ir.totals(g).param_count == ir.totals(folded).param_count == 3 * 64


def test_derived_weight_counts_at_its_origin():
    """A tied head reads a transposed copy of the embedding: one weight, not two."""
    g = Graph("tied")
    g.add_tensor("ids", (4,), role=TensorRole.INPUT)
    g.add_tensor("emb", (100, 8), role=TensorRole.PARAM)
    g.add_tensor("emb_t", (8, 100), role=TensorRole.PARAM).origin = ("emb",)
    g.add_tensor("h", (4, 8))
    g.add_tensor("logits", (4, 100))
    g.inputs, g.outputs = ["ids"], ["logits"]
    g.ops += [Op("take", OpKind.EMBEDDING, {"i0": 4, "i1": 8},
                 [Access("emb", ("@take(i0)", "i1")), Access("ids", ("i0",))], Access("h", ("i0", "i1"))),
              Op("head", OpKind.MATMUL, {"m": 4, "n": 100, "k": 8},
                 [Access("h", ("m", "k")), Access("emb_t", ("k", "n"))], Access("logits", ("m", "n")), reduce=("k",))]
    assert ir.totals(ir.validate(g)).param_count == 800
    g.tensors["emb_t"].origin = ()
    assert ir.totals(g).param_count == 1600  # without the origin it would be counted twice
    g.tensors["emb_t"].origin = ("nope",)
    with pytest.raises(ir.IRValidationError, match=r"tensor 'emb_t': origin \['nope'\]"):
        ir.validate(g)


def test_repeated_block_shows_source_patterns():
    folded = ir.fold_repeats(stack(12, shared=False))
    assert [o.source for o in folded.ops] == ["embed", "encoder.layer.*.up", "encoder.layer.*.down", "node_gelu_*"]
    from ir.repeats import source_pattern
    assert source_pattern(["a.1.b", "a.2.b", "a.3.b"]) == "a.*.b"
    assert source_pattern(["node_linear_4", "node_linear_10"]) == "node_linear_*"
    assert source_pattern(["x.y", "x.y"]) == "x.y"
    assert source_pattern(["root", "a.b"]) == "*"


def test_format_version_2_round_trips_and_version_1_still_loads():
    g = ir.fold_repeats(stack(3, shared=True))
    g.tensors["w1"].origin = ()
    doc = ir.to_dict(g)
    assert doc["version"] == 2 and doc["ops"][1]["source"] == "encoder.layer.*.up"
    assert doc["blocks"][0]["weights"] == {"w1": ["w1", "w1"], "w2": ["w2", "w2"]}
    assert ir.from_json(ir.to_json(g)) == g
    old = ir.to_dict(g)
    old["version"] = 1
    for o in old["ops"]:
        del o["source"]
    for b in old["blocks"]:
        del b["weights"]
    back = ir.from_dict(old)
    assert [o.source for o in back.ops] == ["", "", "", ""] and back.blocks[0].weights == {}
    assert ir.totals(back).macs == ir.totals(g).macs
    with pytest.raises(ir.IRFormatError, match="IR version 3 is not supported"):
        ir.from_dict({**doc, "version": 3})


def towers() -> Graph:
    a, b = stack(2, False), stack(2, False)
    return ir.merge("both", {"image": a, "text": b})


def test_find_op_by_printed_name_source_and_substring():
    one = stack(3, shared=False)
    one.meta["tower"] = "image"
    assert ir.find_op(one, "up1").name == "up1"
    assert ir.find_op(one, "image.up1").name == "up1"            # as `catx estimate --tower both` prints it
    assert ir.find_op(one, "encoder.layer.2.down").name == "down2"
    folded = ir.fold_repeats(one)
    assert ir.find_op(folded, "encoder.layer.7.down").name == "down0"  # an instance of the block's pattern
    assert ir.find_op(folded, "encoder.layer.*.up").name == "up0"
    assert ir.find_op(folded, "gelu").name == "act0"             # unique substring of a source
    both = towers()
    assert ir.find_op(both, "text.down1").name == "text.down1"


def test_find_op_lists_every_candidate_when_several_match():
    both = towers()
    with pytest.raises(ir.OpLookupError, match=r"'down1' matches 2 ops in both: image.down1 \(matmul") as e:
        ir.find_op(both, "down1")
    assert "text.down1 (matmul" in str(e.value)
    assert {o.name for o in ir.find_ops(both, "encoder.layer.0")} == {"image.up0", "image.down0", "text.up0",
                                                                      "text.down0"}


def test_find_op_suggests_close_names():
    one = stack(3, shared=False)
    one.meta["tower"] = "image"
    with pytest.raises(ir.OpLookupError, match=r"no op named 'dwn2' in stack, nor one whose source or name "
                                               r"contains it; closest: down2") as e:
        ir.find_op(one, "dwn2")
    assert "\n" not in str(e.value)
    with pytest.raises(ir.OpLookupError, match=r"'text' names a tower this graph does not hold"):
        ir.find_op(one, "text.up1")
    assert ir.closest_ops(one, "encoder.layer.1.upp")[0] == "up1"


def test_block_weights_must_name_declared_tensors_while_their_weight_lives():
    folded = ir.fold_repeats(stack(3, shared=False))
    block = folded.blocks[0]
    block.weights["gone"] = ("also_gone",)  # a pass removed the weight and the ops reading it: a stale entry
    ir.validate(folded)
    block.weights["w1_0"] = ("w1_1", "nope")
    with pytest.raises(ir.IRValidationError, match=r"block 'block0': weights \['nope'\] are not declared tensors"):
        ir.validate(folded)
