"""Issue 13, part 5: mixture-of-experts layers, integer math before float ops, folded weight compute reported and
kept on request, shared and tied weights counted once, bindings that match nothing, typed TVM failures."""

import math

import pytest
import torch
from torch import nn

import frontend
import ir
from frontend import BindingError, InvalidAttributeError, ModelSpecError, UnsupportedOpError, zoo
from frontend.moe import LoadModel


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # shared parameters once


# --- mixture of experts ---------------------------------------------------------------------------------------------
class MoELayer(nn.Module):
    def __init__(self, width: int, ffn: int, experts: int, top_k: int):
        super().__init__()
        self.moe = zoo.MoE(width, ffn, experts, top_k)

    def forward(self, x):
        return self.moe(x)


def expert_ops(g: ir.Graph) -> list[ir.Op]:
    return [o for o in g.ops if o.fn == "grouped_matmul"]


@pytest.mark.parametrize("tokens, width, ffn, experts, top_k", [(32, 64, 96, 4, 2), (24, 32, 48, 8, 2),
                                                                  (20, 32, 64, 3, 1)])
def test_moe_block_macs_equal_a_hand_count(tokens, width, ffn, experts, top_k):
    g = frontend.load_module(MoELayer(width, ffn, experts, top_k), (torch.randn(1, tokens, width),))
    router = tokens * width * experts
    ffns = 3 * tokens * top_k * width * ffn  # gate, up, down per routed token copy
    assert ir.totals(g).macs == router + ffns
    per_expert = LoadModel().tokens(tokens * top_k, experts)
    assert sum(per_expert) == tokens * top_k and max(per_expert) - min(per_expert) <= 1
    rows = sorted(o.dims["m"] for o in expert_ops(g)[:1] for _ in range(o.dims.get("e", 1)))
    assert rows == sorted({m for m in per_expert} & {rows[0]}) * len(rows)
    assert {o.kind for o in g.ops if o.fn in ("topk", "histc", "argsort")} == {ir.OpKind.REDUCTION}


def test_uniform_load_gives_each_expert_tokens_times_k_over_experts():
    g = frontend.load_module(MoELayer(64, 96, 4, 2), (torch.randn(1, 32, 64),))
    ops = expert_ops(g)
    assert len(ops) == 3  # gate, up, down: one batched matmul each over the 4 experts
    for o in ops:
        assert o.kind == ir.OpKind.BATCH_MATMUL and o.dims["e"] == 4 and o.dims["m"] == 32 * 2 // 4


def test_declared_skewed_load_sets_tokens_per_expert():
    module, x = MoELayer(64, 96, 4, 2), (torch.randn(1, 32, 64),)
    g = frontend.load_module(module, x, moe_load="0.5,0.25,0.125,0.125")
    gate = expert_ops(g)[:3]  # the first grouped matmul's runs: expert 0 alone, expert 1 alone, experts 2-3
    assert [(o.attrs["experts"], o.dims["m"]) for o in gate] == [([0], 32), ([1], 16), ([2, 3], 8)]
    assert ir.totals(g).macs == 32 * 64 * 4 + 3 * 32 * 2 * 64 * 96  # the load moves tokens, not work
    capped = frontend.load_module(module, x, moe_load="1,0,0,0")  # no expert can take a token twice: 32 at most,
    # the other 32 token copies go to the others evenly (32 / 3 = 10.67: 11, 11, 10)
    assert [(o.attrs["experts"], o.dims["m"]) for o in expert_ops(capped)[:3]] == [([0], 32), ([1, 2], 11), ([3], 10)]
    assert g.meta["moe_load"] == "0.5,0.25,0.125,0.125"


def test_load_model_forms_and_errors():
    assert LoadModel.parse("skewed:1").tokens(32, 4, cap=16) == [15, 8, 5, 4]  # 32 * (1, 1/2, 1/3, 1/4) / 2.083
    assert LoadModel.parse("skewed:0").tokens(30, 4) == LoadModel().tokens(30, 4) == [8, 8, 7, 7]
    for bad, match in (("skewed:-1", "Zipf exponent"), ("fast", "not understood"), ("0,0", "not all 0")):
        with pytest.raises(ModelSpecError, match=match):
            LoadModel.parse(bad)
    with pytest.raises(ModelSpecError, match="lists 3 shares but the layer has 4 experts"):
        frontend.load_module(MoELayer(64, 96, 4, 2), (torch.randn(1, 32, 64),), moe_load=[1, 1, 1])


def test_mixtral_params_equal_torch_count():
    module, x = zoo.mixtral()
    g = frontend.load_module(module, x)
    assert ir.totals(g).param_count == params(module)


# --- integer division before float ops (DeBERTa-v2's relative position buckets) -------------------------------------
def log_bucket_position(relative_pos, bucket_size: int, max_position: int):
    """DeBERTa-v2's ``make_log_bucket_position``: integer positions, true division, then log."""
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), torch.tensor(mid - 1).type_as(relative_pos),
                          torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)


class RelativeAttention(nn.Module):
    """DeBERTa-v2-style disentangled attention, one head: content and relative-position scores."""

    def __init__(self, width: int = 32, span: int = 16, max_position: int = 64, with_input_positions: bool = False):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))
        self.rel = nn.Parameter(torch.randn(2 * span, width))
        self.ln = nn.LayerNorm(width)
        self.span, self.max_position, self.with_input_positions = span, max_position, with_input_positions

    def forward(self, x, ids):
        t = x.shape[1]
        pos = ids[0] if self.with_input_positions else torch.arange(t)
        rel = pos[:, None] - pos[None, :]
        bucket = log_bucket_position(rel, self.span, self.max_position).long()
        rel_emb = self.ln(self.rel)                    # compute on weights alone
        pos_k, pos_q = self.k(rel_emb), self.q(rel_emb)
        q, k, v = self.q(x), self.k(x), self.v(x)
        c2p = torch.gather(q @ pos_k.t(), -1, (bucket + self.span).clamp(0, 2 * self.span - 1)[None])
        p2c = torch.gather(k @ pos_q.t(), -1, (self.span - bucket).clamp(0, 2 * self.span - 1)[None])
        scores = (q @ k.transpose(-1, -2) + c2p + p2c) / math.sqrt(3 * x.shape[-1])
        return self.o(scores.softmax(-1) @ v)


@pytest.mark.parametrize("with_input_positions", [False, True])
def test_relative_position_buckets_lower_on_the_torch_path(with_input_positions):
    t, w, span = 12, 32, 16
    module = RelativeAttention(w, span, with_input_positions=with_input_positions)
    g = frontend.load_module(module, (torch.randn(1, t, w), torch.arange(t)[None]))
    activation_macs = 4 * t * w * w + 2 * t * t * w + 2 * t * 2 * span * w
    assert ir.totals(g).macs == activation_macs
    assert g.meta["folded"]["macs"] == 2 * (2 * span) * w * w  # the two projections of the position table
    if with_input_positions:  # the buckets now depend on the input: their float math is in the graph
        assert {"log", "ceil", "divide"} <= {o.fn for o in g.ops}


# --- folded weight compute: reported, and kept on request -----------------------------------------------------------
class Factored(nn.Module):
    """``x @ (A @ B)``: the product of two weights is weight-only compute."""

    def __init__(self, d: int = 24, r: int = 8, n: int = 40):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.randn(d, r)), nn.Parameter(torch.randn(r, n))

    def forward(self, x):
        return x @ (self.a @ self.b)


def test_folded_weight_compute_is_reported_and_kept_on_request():
    t, d, r, n = 10, 24, 8, 40
    x = (torch.randn(t, d),)
    folded = frontend.load_module(Factored(d, r, n), x)
    assert ir.totals(folded).macs == t * d * n
    assert folded.meta["folded"]["macs"] == d * r * n and folded.meta["folded"]["ops"] == 1
    assert ir.totals(folded).param_count == d * r + r * n  # the precomputed product counts at its origins
    kept = frontend.load_module(Factored(d, r, n), x, keep_weight_compute=True)
    assert ir.totals(kept).macs == t * d * n + d * r * n
    assert kept.meta["folded"]["macs"] == 0 and ir.totals(kept).param_count == d * r + r * n


def test_deberta_like_folded_share_and_kept_totals():
    t, w, span = 12, 32, 16
    args = (torch.randn(1, t, w), torch.arange(t)[None])
    kept = frontend.load_module(RelativeAttention(w, span), args, keep_weight_compute=True)
    activation = 4 * t * w * w + 2 * t * t * w + 2 * t * 2 * span * w
    assert ir.totals(kept).macs == activation + 2 * (2 * span) * w * w
    assert ir.totals(kept).param_count == params(RelativeAttention(w, span))


# --- shared and tied weights counted once ---------------------------------------------------------------------------
class SharedLayers(nn.Module):
    """ALBERT-style: one transformer layer applied ``times`` times."""

    def __init__(self, times: int = 4):
        super().__init__()
        self.embed = nn.Linear(16, 64)
        self.layer = zoo.Block(64, 4, 128)
        self.times = times

    def forward(self, x):
        x = self.embed(x)
        for _ in range(self.times):
            x = self.layer(x)
        return x


@pytest.mark.parametrize("arch", ["gpt2", "bert", "llama", "vit"])
def test_params_equal_torch_count(arch):
    module, inputs = zoo.ARCHITECTURES[arch]()
    assert ir.totals(frontend.load_module(module, inputs)).param_count == params(module)


def test_clip_tower_params_equal_torch_count_without_buffers():
    """The text tower's causal mask is a buffer, not a weight; logit_scale is not used by the text tower."""
    text, tokens = zoo.clip_text()
    clip = text.m
    expect = sum(p.numel() for n, p in clip.named_parameters() if not n.startswith(("visual.", "logit_")))
    assert ir.totals(frontend.load_module(text, tokens)).param_count == expect
    image, pixels = zoo.clip_image()
    assert ir.totals(frontend.load_module(image, pixels)).param_count == params(image)


def test_shared_layers_count_once_and_tied_head_once():
    module = SharedLayers(4)
    g = frontend.load_module(module, (torch.randn(1, 8, 16),))
    assert [b.repeat for b in g.blocks] == [4]
    assert g.blocks[0].weights and all(len(set(v)) == 1 for v in g.blocks[0].weights.values())  # one layer, 4 uses
    assert ir.totals(g).param_count == params(module)
    assert ir.totals(g).param_bytes == params(module)  # 8-bit weights
    gpt2, ids = zoo.gpt2()
    g = frontend.load_module(gpt2, ids)
    head = [o for o in g.ops if ir.is_contraction(o)][-1]
    assert g.tensors[head.inputs[1].tensor].origin == (g.tensors[[o for o in g.ops if o.kind == ir.OpKind.EMBEDDING][0]
                                                                 .inputs[0].tensor].name,)


# --- bindings and typed failures ----------------------------------------------------------------------------------
def test_misspelt_dim_names_the_dims_the_model_has(tmp_path):
    from test_frontend_errors import tiny_onnx

    p = tiny_onnx(tmp_path / "dyn.onnx", dynamic=True)
    with pytest.raises(BindingError, match=r"--dim btach=2 matched no input; inputs have dims \['batch'\] "
                                           r"\(did you mean 'batch'\?\)"):
        frontend.load(str(p), dims={"btach": 2})
    with pytest.raises(BindingError, match=r"--shape y=... matched no input; inputs are \['x'\]"):
        frontend.load(str(p), shapes={"y": [2, 4]})
    with pytest.raises(BindingError, match="not an ONNX file"):
        frontend.load("gemm:2,3,4", dims={"batch": 2})


def test_cli_reports_a_misspelt_dim_in_one_line(tmp_path, capsys):
    from test_frontend_errors import tiny_onnx

    from search.cli import main

    p = tiny_onnx(tmp_path / "dyn.onnx", dynamic=True)
    assert main(["lower", str(p), "--dim", "btach=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matched no input; inputs have dims ['batch']" in err


def _conv_onnx(path, **attrs):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])
    w = numpy_helper.from_array(np.ones((3, 2, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv_a", **attrs)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], initializer=[w]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("attrs, match", [({"dilations": [0, 0]}, r"dilations=\[0, 0\]; every entry must be an "
                                                                  r"integer >= 1"),
                                          ({"strides": [1, 0]}, r"strides=\[1, 0\]"),
                                          ({"pads": [0, -1, 0, 0]}, r"pads=\[0, -1, 0, 0\]; every entry must be an "
                                                                     r"integer >= 0")])
def test_invalid_conv_attributes_are_typed_errors(tmp_path, attrs, match):
    with pytest.raises(InvalidAttributeError, match=r"node 'conv_a' \(Conv\) has " + match):
        frontend.load(str(_conv_onnx(tmp_path / "c.onnx", **attrs)))
    g = frontend.load(str(_conv_onnx(tmp_path / "ok.onnx", dilations=[2, 2])))
    assert ir.totals(g).macs == 1 * 3 * 4 * 4 * 2 * 3 * 3  # output 8 - 2*(3-1) = 4 per side


def test_tvm_failures_are_one_typed_line_naming_the_node(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    s = helper.make_tensor_value_info("s", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 2])
    node = helper.make_node("Reshape", ["x", "s"], ["y"], name="the_reshape")
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x, s], [y]),
                                opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "r.onnx"))
    with pytest.raises(frontend.FrontendError, match=r"on node 'the_reshape' \(Reshape\): Reshape requires") as e:
        frontend.load(str(tmp_path / "r.onnx"))
    assert "\n" not in str(e.value) and len(str(e.value)) < 400

    class FFT(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Identity()

        def forward(self, x):
            return torch.fft.fft(self.inner(x)).real

    with pytest.raises(UnsupportedOpError, match=r"node '_fft_r2c' \(_fft_r2c.default\) has no TVM conversion"):
        frontend.load_module(FFT(), (torch.randn(2, 8),))


@pytest.mark.slow
def test_onnx_tied_head_counts_once(tmp_path):
    """The ONNX exporter writes GPT-2's tied head as a transposed copy of the embedding: counted once. The file
    lacks only the norms' untouched weights (all ones or zeros), which the exporter folds away."""
    import onnx

    module, ids = zoo.gpt2()
    path = tmp_path / "gpt2.onnx"
    torch.onnx.export(module, ids, str(path), dynamo=True, external_data=False)
    names = {i.name for i in onnx.load(str(path)).graph.initializer}
    dropped = sum(p.numel() for n, p in module.named_parameters() if n not in names and p.min() == p.max())
    assert 0 < dropped < 2048
    assert ir.totals(frontend.load(str(path))).param_count == params(module) - dropped
