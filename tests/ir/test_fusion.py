"""Fusion passes: attention found in every zoo family with the model's own causal flag and KV grouping, MACs and
vector work kept exactly, fewer executed ops, blocks consistent, JSON exact; hand-built graphs that must not fuse."""

import functools
import math

import numpy as np
import pytest

import frontend
import ir
from frontend import zoo
from ir import Access, Graph, Op, OpKind, TensorRole

ARCHS = sorted(zoo.ARCHITECTURES)


@functools.lru_cache(maxsize=None)
def family(arch: str) -> tuple[dict, ir.Graph]:
    """(attention config read from the torch module, unfolded graph lowered from that same module)."""
    module, inputs = zoo.ARCHITECTURES[arch]()
    if arch.startswith("clip"):
        tower = module.m if arch == "clip_text" else module
        blocks = tower.transformer.resblocks
        attn = blocks[0].attn
        heads = kv_heads = attn.num_heads
        causal = getattr(tower, "attn_mask", None) is not None
        head_dim = attn.head_dim
        seq = inputs[0].shape[1] if arch == "clip_text" else tower.positional_embedding.shape[0]
    else:
        blocks = module.blocks
        attn = blocks[0].attn
        heads, kv_heads, causal, head_dim = attn.heads, attn.kv_heads, attn.causal, attn.hd
        seq = {"vit": lambda: module.pos.shape[1], "whisper": lambda: module.pos.shape[0]}.get(
            arch, lambda: inputs[0].shape[1])()
    cfg = dict(layers=len(blocks), heads=heads, kv_heads=kv_heads, causal=causal, head_dim=head_dim, seq=int(seq),
               masks=len(inputs) - 1)  # bert alone takes an attention (padding) mask besides its tokens
    return cfg, frontend.load_module(module, inputs, name=arch, fold=False)


def folded(arch: str) -> ir.Graph:
    return ir.fold_repeats(family(arch)[1])


def guard_elements(cfg: dict, sdpa: bool) -> int:
    """Element ops of torch SDPA's NaN guard per model: equal, logical_not, max and where over the scores
    (heads x seq x seq each) plus one logical_not per row."""
    h, s = cfg["heads"], cfg["seq"]
    return cfg["layers"] * (4 * h * s * s + h * s) if sdpa else 0


def attention_ops(g: ir.Graph) -> list[tuple[Op, int]]:
    return [(op, k) for op, k in g.weighted_ops() if op.kind == OpKind.ATTENTION]


def check_attention(g: ir.Graph, cfg: dict) -> None:
    found = attention_ops(g)
    assert sum(k for _, k in found) == cfg["layers"]
    h, kvh, s, hd = cfg["heads"], cfg["kv_heads"], cfg["seq"], cfg["head_dim"]
    for op, _ in found:
        assert op.kind.category == "attention"
        assert op.attrs["causal"] is cfg["causal"]
        assert op.attrs["kv_groups"] == h // kvh
        assert (op.dims["q"], op.dims["kv"], op.dims["d"], op.dims["dv"]) == (s, s, hd, hd)
        batch = math.prod(op.dims[b] for b in op.attrs["roles"]["batch"])
        assert batch == kvh and batch * op.dims.get("g", 1) == h  # batch 1: the batch dims are the KV heads
        assert ir.macs(op) == 2 * h * s * s * hd
        assert op.attrs["scale"] == pytest.approx(1 / math.sqrt(hd), rel=1e-6)
        assert len(op.attrs["masks"]) == cfg["masks"] == len(op.inputs) - 3


def check_graph(g: ir.Graph) -> None:
    ir.validate(g)
    names = {o.name for o in g.ops}
    assert all(n in names for b in g.blocks for n in b.ops)
    assert len(names) == len(g.ops) and len(g.tensors) == len(set(g.tensors))
    assert ir.from_json(ir.to_json(g)) == g and ir.to_json(ir.from_json(ir.to_json(g))) == ir.to_json(g)


def run_passes(g: ir.Graph, cfg: dict, sdpa: bool) -> ir.Graph:
    """Each pass in turn: MACs exact, vector work exact (less the guard for SDPA models), fewer ops executed."""
    t0 = ir.totals(g)
    a = ir.drop_mask_artefacts(g)
    ta = ir.totals(a)
    assert (ta.macs, ta.vector_ops) == (t0.macs, t0.vector_ops - guard_elements(cfg, sdpa))
    b = ir.fuse_attention(a)
    tb = ir.totals(b)
    assert (tb.macs, tb.vector_ops) == (t0.macs, ta.vector_ops) and tb.ops < ta.ops
    c = ir.fuse_epilogues(b)
    tc = ir.totals(c)
    assert (tc.macs, tc.vector_ops) == (t0.macs, ta.vector_ops) and tc.ops < tb.ops
    for x in (a, b, c):
        check_graph(x)
    assert ir.fuse(g) == c
    return c


@pytest.mark.parametrize("arch", ARCHS)
def test_folded_family(arch):
    cfg, _ = family(arch)
    g = folded(arch)
    assert [b.repeat for b in g.blocks] == [cfg["layers"]]
    f = run_passes(g, cfg, sdpa=arch.startswith("clip"))
    check_attention(f, cfg)
    (att, k), = attention_ops(f)
    assert att.name in f.blocks[0].ops and f.blocks[0].repeat == k == cfg["layers"]
    assert ir.fuse(f) == f  # nothing left to fuse: the passes are idempotent


@pytest.mark.parametrize("arch", ["bert", "llama"])
def test_batch_of_three(arch):
    """torch flattens [batch, seq] to one GEMM dim: attention splits it into batch and heads, epilogues split it
    back to write the [batch, seq, width] residual stream."""
    import torch

    cfg, _ = family(arch)
    module, inputs = zoo.ARCHITECTURES[arch]()
    g = frontend.load_module(module, tuple(torch.cat([t] * 3) for t in inputs), name=arch)
    t0 = ir.totals(g)
    f = ir.fuse(g)
    t1 = ir.totals(f)
    assert (t1.macs, t1.vector_ops) == (t0.macs, t0.vector_ops) and t1.ops < t0.ops
    check_graph(f)
    for op, _ in attention_ops(f):
        batch = math.prod(op.dims[b] for b in op.attrs["roles"]["batch"])
        assert batch == 3 * cfg["kv_heads"] and op.attrs["kv_groups"] == cfg["heads"] // cfg["kv_heads"]
    split = [o for o in f.ops if "m_hi" in o.dims]
    assert split and all(o.dims["m_hi"] * o.dims["m_lo"] == 3 * cfg["seq"] for o in split)
    assert all(ir.macs(o) == ir.macs(g.op(o.name)) for o in split)


@pytest.mark.parametrize("arch", ["bert", "llama", "clip_text"])
def test_unfolded_family(arch):
    cfg, g = family(arch)
    assert not g.blocks
    f = run_passes(g, cfg, sdpa=arch.startswith("clip"))
    check_attention(f, cfg)
    assert len(attention_ops(f)) == cfg["layers"] and not f.blocks


@pytest.mark.parametrize("arch", ["gpt2", "llama", "clip_image"])
def test_unfused_graph_is_the_original_chain(arch):
    f = ir.fuse_attention(ir.drop_mask_artefacts(folded(arch)))
    (op, _), = attention_ops(f)
    parts = ir.unfused_graph(op)
    t = ir.totals(parts)
    assert (t.macs, t.vector_ops) == (ir.macs(op), ir.vector_ops(op))
    kinds = [o.kind for o in parts.ops]
    assert kinds.count(OpKind.SOFTMAX) == 1 and sum(ir.is_contraction(o) for o in parts.ops) == 2
    assert parts.inputs[0] == "in0" and parts.outputs == ["out"]
    assert [parts.tensors[a].shape for a in parts.inputs[:1]] == [f.tensors[op.inputs[0].tensor].shape]


def test_fused_epilogues_name_their_inputs():
    f = ir.fuse(folded("bert"))
    post_ln = [o for o in f.ops if any(e["kind"] == "normalization" for e in o.attrs.get("epilogue", ()))]
    assert len(post_ln) == 2  # BERT is post-LN: attention output and MLP down projections end in a layer norm
    for op in post_ln:
        assert [e["fn"] for e in op.attrs["epilogue"]] == ["add", "add", "layer_norm"]  # bias, residual, norm
        bias, residual, norm = op.attrs["epilogue"]
        assert f.tensors[op.inputs[bias["inputs"][0]].tensor].role == TensorRole.PARAM
        assert f.tensors[op.inputs[residual["inputs"][0]].tensor].role == TensorRole.ACTIVATION
        assert norm["reduce"] == ["n"] and len(norm["inputs"]) == 2  # over the output features; weight, bias
        assert ir.vector_ops(op) == sum(e["iterations"] for e in op.attrs["epilogue"]) == 3 * op.dims["m"] * 128


def test_frontend_records_mask_facts():
    g = folded("gpt2")
    (where,) = [o for o in g.ops if o.fn == "where"]
    mask, fill = (ir.facts.of(g, a.tensor) for a in where.inputs[:2])
    assert mask["triangle"] == "strict_upper" and fill["value"] == "-inf"


# --- facts ----------------------------------------------------------------------------------------------------
def test_describe_masks():
    tril = np.tril(np.ones((5, 5), bool))
    assert ir.facts.describe(tril)["triangle"] == "lower"
    assert ir.facts.describe(~tril)["triangle"] == "strict_upper"
    bias = np.where(tril, 0.0, -np.inf)[None].repeat(3, 0)
    f = ir.facts.describe(bias)
    assert f["triangle"] == "causal_bias" and f["finite"] is False
    assert f["any_finite_along"] == [1, 2]  # rows and columns keep a finite element; fibres along the repeat axis
    # at a masked position are all -inf
    rng = np.random.default_rng(0)
    assert "triangle" not in ir.facts.describe(rng.random((5, 5)) > 0.5)
    holes = np.zeros((4, 4))
    holes[2] = -np.inf  # row 2 fully masked: its fibre along the last axis has no finite element
    assert ir.facts.describe(holes)["any_finite_along"] == [0]
    assert ir.facts.describe(np.float32(-np.inf))["value"] == "-inf"


# --- hand-built graphs -------------------------------------------------------------------------------------------
H, S, D = 2, 8, 4


def attention_graph(mask: str | None = None, softmax_axis: int = 2, scores_escape: bool = False,
                    mask_facts: dict | None = None, guard: bool = False, keys: int = S) -> Graph:
    """q [H,S,D] @ kT [H,D,T] -> /8 -> (mask) -> softmax -> (NaN guard) -> @ v [H,T,D]  (T = keys)."""
    g = Graph("att")
    g.add_tensor("q", (H, S, D), role=TensorRole.INPUT)
    g.add_tensor("v", (H, keys, D), role=TensorRole.INPUT)
    g.add_tensor("kt", (H, D, keys), role=TensorRole.INPUT)
    g.inputs = ["q", "kt", "v"]
    g.add_tensor("eight", (), role=TensorRole.CONST)
    g.add_tensor("ninf", (), role=TensorRole.CONST)
    g.meta[ir.facts.KEY] = {"eight": ir.facts.describe(np.float32(8)), "ninf": ir.facts.describe(np.float32(-np.inf))}
    e3 = {"i0": H, "i1": S, "i2": keys}
    ix3 = ("i0", "i1", "i2")
    mm = {"b0": H, "m": S, "n": keys, "k": D}
    ops = [Op("qk", OpKind.BATCH_MATMUL, mm, [Access("q", ("b0", "m", "k")), Access("kt", ("b0", "k", "n"))],
              Access("s", ("b0", "m", "n")), reduce=("k",), fn="matmul"),
           Op("scale", OpKind.ELEMENTWISE, e3, [Access("s", ix3), Access("eight", ())], Access("x", ix3),
              fn="divide")]
    x = "x"
    if mask == "where":
        g.add_tensor("mask", (S, keys), bits=8, role=TensorRole.CONST)
        ops.append(Op("mask", OpKind.ELEMENTWISE, e3, [Access("mask", ("i1", "i2")), Access("ninf", ()),
                                                      Access("x", ix3)], Access("xm", ix3), fn="where"))
        x = "xm"
    elif mask == "bias":
        g.add_tensor("mask", (1, S, keys), role=TensorRole.PARAM)
        ops.append(Op("mask", OpKind.ELEMENTWISE, e3, [Access("x", ix3), Access("mask", ("0", "i1", "i2"))],
                      Access("xm", ix3), fn="add"))
        x = "xm"
    if mask_facts is not None:
        g.meta[ir.facts.KEY]["mask"] = mask_facts
    ops.append(Op("softmax", OpKind.SOFTMAX, e3, [Access(x, ix3)], Access("p", ix3), reduce=(f"i{softmax_axis}",),
                  fn="softmax"))
    p = "p"
    if guard:
        g.add_tensor("zeros", (H, S, keys), role=TensorRole.CONST)
        g.meta[ir.facts.KEY]["zeros"] = ir.facts.describe(np.zeros((H, S, keys), np.float32))
        red = ("i0", "i1", "0")
        ops += [Op("eq", OpKind.ELEMENTWISE, e3, [Access(x, ix3), Access("ninf", ())], Access("eq", ix3), fn="equal"),
                Op("not", OpKind.ELEMENTWISE, e3, [Access("eq", ix3)], Access("ne", ix3), fn="logical_not"),
                Op("any", OpKind.REDUCTION, e3, [Access("ne", ix3)], Access("an", red), reduce=("i2",), fn="max"),
                Op("all", OpKind.ELEMENTWISE, {"i0": H, "i1": S, "i2": 1}, [Access("an", ix3)], Access("al", ix3),
                   fn="logical_not"),
                Op("guard", OpKind.ELEMENTWISE, e3, [Access("al", red), Access("zeros", ix3), Access("p", ix3)],
                   Access("pg", ix3), fn="where")]
        g.add_tensor("an", (H, S, 1))
        g.add_tensor("al", (H, S, 1))
        p = "pg"
    ops.append(Op("pv", OpKind.BATCH_MATMUL, {"b0": H, "m": S, "n": D, "k": keys},
                  [Access(p, ("b0", "m", "k")), Access("v", ("b0", "k", "n"))], Access("o", ("b0", "m", "n")),
                  reduce=("k",), fn="matmul"))
    for o in ops:
        if o.output.tensor not in g.tensors:
            g.add_tensor(o.output.tensor, (H, S, D) if o.output.tensor == "o" else (H, S, keys))
    g.ops = ops
    g.outputs = ["o", "s"] if scores_escape else ["o"]
    return ir.validate(g)


def fused_attention(g: Graph) -> list[Op]:
    return [o for o in ir.fuse_attention(g).ops if o.kind == OpKind.ATTENTION]


def test_plain_attention_fuses():
    g = attention_graph()
    (op,) = fused_attention(g)
    assert op.dims == {"b0": H, "q": S, "kv": S, "d": D, "dv": D}
    assert [a.tensor for a in op.inputs] == ["q", "kt", "v"] and op.output.tensor == "o"
    assert [a.index for a in op.inputs] == [("b0", "q", "d"), ("b0", "d", "kv"), ("b0", "kv", "dv")]
    assert (op.attrs["causal"], op.attrs["kv_groups"], op.attrs["scale"]) == (False, 1, 1 / 8)
    assert ir.macs(op) == 2 * H * S * S * D and ir.vector_ops(op) == 2 * H * S * S  # divide + softmax


def test_cross_attention_keeps_query_and_key_lengths_apart():
    g = attention_graph(keys=5)
    (op,) = fused_attention(g)
    assert (op.dims["q"], op.dims["kv"]) == (S, 5) and ir.macs(op) == 2 * H * S * 5 * D
    tri = ir.facts.describe(~np.tril(np.ones((S, 5), bool)))
    (op,) = fused_attention(attention_graph("where", mask_facts=tri, keys=5))
    assert op.attrs["causal"] is False and op.inputs[3].tensor == "mask"  # a triangle over a non-square is data


def test_scores_read_twice_do_not_fuse():
    g = attention_graph(scores_escape=True)
    assert not fused_attention(g)
    assert ir.fuse_attention(g) == g


def test_softmax_over_the_query_axis_does_not_fuse():
    g = attention_graph(softmax_axis=1)
    assert not fused_attention(g) and ir.fuse_attention(g) == g


def test_causal_where_mask_is_kept_and_read_as_causal():
    tri = ir.facts.describe(~np.tril(np.ones((S, S), bool)))
    g = attention_graph("where", mask_facts=tri)
    assert ir.drop_mask_artefacts(g) == g  # it changes values: kept
    (op,) = fused_attention(g)
    assert op.attrs["causal"] is True and len(op.inputs) == 3  # the triangle is a flag, not a tensor


def test_arbitrary_mask_is_data():
    rng = np.random.default_rng(1)
    pattern = ir.facts.describe(rng.random((S, S)) > 0.5)
    for facts in (pattern, None):
        g = attention_graph("where", mask_facts=facts)
        assert ir.drop_mask_artefacts(g) == g
        (op,) = fused_attention(g)
        assert op.attrs["causal"] is False and op.inputs[3] == Access("mask", ("q", "kv"))
        assert op.attrs["masks"] == [{"input": 3, "fn": "where"}]


def test_all_false_where_is_dropped():
    g = attention_graph("where", mask_facts=ir.facts.describe(np.zeros((S, S), bool)))
    d = ir.drop_mask_artefacts(g)
    assert "mask" not in {o.name for o in d.ops} and d.op("softmax").inputs[0].tensor == "x"
    assert ir.totals(d).vector_ops == ir.totals(g).vector_ops - H * S * S


def test_nan_guard_dropped_only_when_no_row_can_be_all_masked():
    causal_bias = ir.facts.describe(np.where(np.tril(np.ones((1, S, S), bool)), 0.0, -np.inf))
    g = attention_graph("bias", mask_facts=causal_bias, guard=True)
    d = ir.drop_mask_artefacts(g)
    guard = {"eq", "not", "any", "all", "guard"}
    assert not guard & {o.name for o in d.ops} and d.op("pv").inputs[0].tensor == "p"
    assert ir.totals(d).vector_ops == ir.totals(g).vector_ops - (4 * H * S * S + H * S)
    (op,) = fused_attention(d)
    assert op.attrs["causal"] is True

    holes = np.zeros((1, S, S))
    holes[0, 3] = -np.inf  # query 3 sees no key: softmax is NaN there and the guard makes it 0
    for facts in (ir.facts.describe(holes), None):
        g = attention_graph("bias", mask_facts=facts, guard=True)
        assert ir.drop_mask_artefacts(g) == g
        (op,) = fused_attention(g)  # the guard is fused with the rest, its work kept
        assert ir.vector_ops(op) == ir.totals(g).vector_ops
        assert op.attrs["causal"] is False and op.inputs[3].tensor == "mask"


def epilogue_graph(outputs: tuple[str, ...] = ("y",), extra_reader: bool = False) -> Graph:
    """x [M,K] @ w [K,N] -> + b [N] -> gelu."""
    g = Graph("mlp")
    g.add_tensor("x", (4, 8), role=TensorRole.INPUT)
    g.add_tensor("w", (8, 16), role=TensorRole.PARAM)
    g.add_tensor("b", (16,), role=TensorRole.PARAM)
    for t in ("h", "hb", "y", "z"):
        g.add_tensor(t, (4, 16))
    g.inputs = ["x"]
    e = {"i0": 4, "i1": 16}
    g.ops = [Op("mm", OpKind.MATMUL, {"m": 4, "n": 16, "k": 8}, [Access("x", ("m", "k")), Access("w", ("k", "n"))],
                Access("h", ("m", "n")), reduce=("k",), fn="matmul"),
             Op("bias", OpKind.ELEMENTWISE, e, [Access("h", ("i0", "i1")), Access("b", ("i1",))],
                Access("hb", ("i0", "i1")), fn="add"),
             Op("gelu", OpKind.ELEMENTWISE, e, [Access("hb", ("i0", "i1"))], Access("y", ("i0", "i1")), fn="gelu")]
    if extra_reader:
        g.ops.append(Op("tap", OpKind.ELEMENTWISE, e, [Access("hb", ("i0", "i1"))], Access("z", ("i0", "i1")),
                        fn="tanh"))
        outputs = (*outputs, "z")
    g.outputs = list(outputs)
    return ir.validate(g)


def test_bias_and_activation_join_the_matmul():
    g = epilogue_graph()
    f = ir.fuse_epilogues(g)
    (op,) = f.ops
    assert op.kind == OpKind.MATMUL and op.inputs[:2] == g.ops[0].inputs and op.inputs[2] == Access("b", ("n",))
    assert op.output == Access("y", ("m", "n"))
    assert op.attrs["epilogue"] == [{"fn": "add", "kind": "elementwise", "iterations": 64, "inputs": [2]},
                                    {"fn": "gelu", "kind": "elementwise", "iterations": 64, "inputs": []}]
    assert (ir.totals(f).macs, ir.totals(f).vector_ops) == (ir.totals(g).macs, ir.totals(g).vector_ops)


@pytest.mark.parametrize("kw", [{"outputs": ("y", "hb")}, {"extra_reader": True}])
def test_epilogue_stops_where_the_intermediate_escapes(kw):
    g = epilogue_graph(**kw)
    f = ir.fuse_epilogues(g)
    (mm,) = [o for o in f.ops if o.kind == OpKind.MATMUL]
    assert [e["fn"] for e in mm.attrs["epilogue"]] == ["add"] and mm.output.tensor == "hb"
    assert "gelu" in {o.name for o in f.ops}


# --- ONNX path -------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_onnx_family(tmp_path, arch):
    import torch

    cfg, _ = family(arch)
    module, inputs = zoo.ARCHITECTURES[arch]()
    path = tmp_path / f"{arch}.onnx"
    torch.onnx.export(module, inputs, str(path), dynamo=True, external_data=False)
    g = frontend.load(str(path), fuse=False)
    f = run_passes(g, cfg, sdpa=False)  # the ONNX exporter writes SDPA without the NaN guard
    check_attention(f, cfg)


def masked_layers(patterns: list[np.ndarray]) -> Graph:
    """One (where mask -> tanh -> add) layer per mask pattern, chained."""
    g = Graph("layers")
    g.add_tensor("x", (S, S), role=TensorRole.INPUT)
    g.add_tensor("x0", (S, S))
    g.add_tensor("ninf", (), role=TensorRole.CONST)
    g.inputs = ["x"]
    g.meta[ir.facts.KEY] = {"ninf": ir.facts.describe(np.float32(-np.inf))}
    e = {"i0": S, "i1": S}
    ix2 = ("i0", "i1")
    g.ops.append(Op("stem", OpKind.ELEMENTWISE, e, [Access("x", ix2)], Access("x0", ix2), fn="negative"))
    for i, p in enumerate(patterns):
        g.add_tensor(f"m{i}", (S, S), role=TensorRole.CONST)
        g.meta[ir.facts.KEY][f"m{i}"] = ir.facts.describe(p)
        for t in (f"w{i}", f"t{i}", f"x{i + 1}"):
            g.add_tensor(t, (S, S))
        g.ops += [Op(f"where{i}", OpKind.ELEMENTWISE, e, [Access(f"m{i}", ix2), Access("ninf", ()),
                                                          Access(f"x{i}", ix2)], Access(f"w{i}", ix2), fn="where"),
                  Op(f"tanh{i}", OpKind.ELEMENTWISE, e, [Access(f"w{i}", ix2)], Access(f"t{i}", ix2), fn="tanh"),
                  Op(f"add{i}", OpKind.ELEMENTWISE, e, [Access(f"t{i}", ix2), Access(f"x{i}", ix2)],
                     Access(f"x{i + 1}", ix2), fn="add")]
    g.outputs = [f"x{len(patterns)}"]
    return ir.validate(g)


def test_layers_with_different_masks_do_not_fold_together():
    causal = ~np.tril(np.ones((S, S), bool))
    window = causal | np.tril(np.ones((S, S), bool), -3)  # causal with a sliding window of 3
    assert [b.repeat for b in ir.fold_repeats(masked_layers([causal] * 4)).blocks] == [4]
    mixed = ir.fold_repeats(masked_layers([causal, window] * 2))
    assert [b.repeat for b in mixed.blocks] == [2] and len(mixed.blocks[0].ops) == 6  # (causal, window) x 2
