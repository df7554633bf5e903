"""GPU benchmark workloads in plain torch: CLIP towers (paper Table 3 and pruned), BERT, ViT-L, GPT-2-medium.

Needs only torch (it is copied to the GPU machine beside ``gpu_measure.py``). Every workload has a stable id, a
declared split (``fit`` or ``holdout``) and a closed-form MAC count, and each id is also a CATX model spec::

    PYTHONPATH=. catx lower bench.gpu_workloads:clip_carbonclip_s_image_b1 --bits 16

(``frontend.load("module:callable")`` calls ``bench.gpu_workloads.<id>()``, which returns ``(module, inputs)``;
the module attribute is made on demand by ``__getattr__``.) Attention goes through
``torch.nn.functional.scaled_dot_product_attention`` so a GPU runs fused (flash) attention; QKV is one fused
projection; the head dimension is 64 everywhere, decoupled from the width as in the paper's pruned CLIP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

HEAD_DIM = 64
BATCHES = (1, 8, 64)
SPLITS = ("fit", "holdout")
CLIP_EMBED = 512  # CLIP ViT-B/16 joint embedding width (the towers' output projection)
CLIP_VOCAB, CLIP_CONTEXT = 49408, 77
CLIP_IMAGE, CLIP_PATCH = 224, 16  # 14 x 14 patches + class token = 197 tokens
BERT_VOCAB, GPT2_VOCAB = 30522, 50257
VIT_CLASSES = 1000


@dataclass(frozen=True)
class Arch:
    """One transformer tower: its family, shape and where the shape comes from."""

    name: str
    family: str  # clip_image | clip_text | bert | vit | gpt2
    layers: int
    width: int
    heads: int
    ffn: int
    source: str

    @property
    def causal(self) -> bool:
        return self.family in ("clip_text", "gpt2")


@dataclass(frozen=True)
class Workload:
    """An architecture at one sequence length (tokens) and batch, with its fit/holdout split."""

    id: str
    arch: Arch
    seq: int
    batch: int
    split: str
    image: int | None = None  # image side in pixels (image towers); seq = (image / 16)^2 + 1

    def build(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
              layers: int | None = None) -> tuple[nn.Module, tuple]:
        """``(module, example_inputs)`` on ``device`` in ``dtype``; ``layers`` overrides the depth (tests)."""
        arch = self.arch if layers is None else replace(self.arch, layers=layers)
        with torch.device(device):
            module = _MODELS[arch.family](arch, self)
            module = module.to(dtype).eval()
            return module, _inputs(arch, self, dtype)

    def macs(self, layers: int | None = None) -> int:
        """Closed-form multiply-accumulates of one inference (attention counted dense, causal or not)."""
        a = self.arch
        n_layers = a.layers if layers is None else layers
        t, w, hd = self.seq, a.width, a.heads * HEAD_DIM
        per_layer = t * w * 3 * hd + t * hd * w + 2 * t * w * a.ffn + 2 * a.heads * t * t * HEAD_DIM
        return self.batch * (n_layers * per_layer + _stem_macs(a, self) + _head_macs(a))

    def params(self) -> int:
        """Parameter count (embeddings included)."""
        module, _ = self.build(device="meta")
        return sum(p.numel() for p in module.parameters())

    def record(self) -> dict:
        """The workload's description as plain data (for result files)."""
        a = self.arch
        return {"id": self.id, "family": a.family, "arch": a.name, "source": a.source, "layers": a.layers,
                "width": a.width, "heads": a.heads, "head_dim": HEAD_DIM, "ffn": a.ffn, "seq": self.seq,
                "batch": self.batch, "image": self.image, "causal": a.causal, "split": self.split,
                "macs": self.macs()}


def _stem_macs(a: Arch, w: Workload) -> int:
    if a.family in ("clip_image", "vit"):
        return (w.seq - 1) * 3 * CLIP_PATCH * CLIP_PATCH * a.width
    return 0


def _head_macs(a: Arch) -> int:
    return {"clip_image": a.width * CLIP_EMBED, "clip_text": a.width * CLIP_EMBED, "bert": a.width * a.width,
            "vit": a.width * VIT_CLASSES, "gpt2": a.width * GPT2_VOCAB}[a.family]


class Layer(nn.Module):
    """One transformer layer: fused QKV, SDPA attention (head dim 64), GELU MLP, pre- or post-LayerNorm."""

    def __init__(self, width: int, heads: int, ffn: int, causal: bool, pre_ln: bool = True,
                 gelu: str = "none"):
        super().__init__()
        self.heads, self.causal, self.pre_ln, self.gelu = heads, causal, pre_ln, gelu
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * heads * HEAD_DIM)
        self.out = nn.Linear(heads * HEAD_DIM, width)
        self.up, self.down = nn.Linear(width, ffn), nn.Linear(ffn, width)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, HEAD_DIM).permute(2, 0, 3, 1, 4).unbind(0)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.out(y.transpose(1, 2).reshape(b, t, self.heads * HEAD_DIM))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x), approximate=self.gelu))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_ln:
            x = x + self.attention(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attention(x))
        return self.ln2(x + self.mlp(x))


def _layers(a: Arch, pre_ln: bool = True, gelu: str = "none") -> nn.ModuleList:
    return nn.ModuleList(Layer(a.width, a.heads, a.ffn, a.causal, pre_ln, gelu) for _ in range(a.layers))


class ImageTower(nn.Module):
    """CLIP image tower / ViT: 16x16 patch conv, class token, positions, pre-LN layers, head on the class token."""

    def __init__(self, a: Arch, w: Workload):
        super().__init__()
        self.clip = a.family == "clip_image"
        self.stem = nn.Conv2d(3, a.width, CLIP_PATCH, stride=CLIP_PATCH, bias=not self.clip)
        self.cls = nn.Parameter(torch.randn(1, 1, a.width) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, w.seq, a.width) * 0.02)
        self.ln_pre = nn.LayerNorm(a.width) if self.clip else nn.Identity()
        self.layers = _layers(a)
        self.ln_post = nn.LayerNorm(a.width)
        self.head = nn.Linear(a.width, CLIP_EMBED if self.clip else VIT_CLASSES, bias=not self.clip)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.stem(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.ln_pre(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.ln_post(x[:, 0]))


class TextTower(nn.Module):
    """CLIP text tower: token and position embeddings, causal pre-LN layers, projection of the end-of-text token."""

    def __init__(self, a: Arch, w: Workload):
        super().__init__()
        self.tok = nn.Embedding(CLIP_VOCAB, a.width)
        self.pos = nn.Parameter(torch.randn(w.seq, a.width) * 0.01)
        self.layers = _layers(a)
        self.ln_final = nn.LayerNorm(a.width)
        self.proj = nn.Linear(a.width, CLIP_EMBED, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids) + self.pos
        for layer in self.layers:
            x = layer(x)
        x = self.ln_final(x)
        return self.proj(x[torch.arange(x.shape[0], device=x.device), ids.argmax(-1)])


class Bert(nn.Module):
    """BERT encoder: token, position and type embeddings, post-LN layers (exact GELU), tanh pooler."""

    def __init__(self, a: Arch, w: Workload):
        super().__init__()
        self.tok, self.pos = nn.Embedding(BERT_VOCAB, a.width), nn.Embedding(w.seq, a.width)
        self.typ = nn.Embedding(2, a.width)
        self.ln = nn.LayerNorm(a.width)
        self.layers = _layers(a, pre_ln=False)
        self.pool = nn.Linear(a.width, a.width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.ln(self.tok(ids) + self.pos.weight + self.typ.weight[0])
        for layer in self.layers:
            x = layer(x)
        return torch.tanh(self.pool(x[:, 0]))


class GPT2(nn.Module):
    """GPT-2 decoder prefill: causal pre-LN layers (tanh GELU), logits of the last position (tied head)."""

    def __init__(self, a: Arch, w: Workload):
        super().__init__()
        self.tok, self.pos = nn.Embedding(GPT2_VOCAB, a.width), nn.Embedding(w.seq, a.width)
        self.layers = _layers(a, gelu="tanh")
        self.ln = nn.LayerNorm(a.width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids) + self.pos.weight
        for layer in self.layers:
            x = layer(x)
        return self.ln(x[:, x.shape[1] - 1]) @ self.tok.weight.t()  # (a -1 index trips the IR slice check)


_MODELS = {"clip_image": ImageTower, "vit": ImageTower, "clip_text": TextTower, "bert": Bert, "gpt2": GPT2}


def _inputs(a: Arch, w: Workload, dtype: torch.dtype) -> tuple:
    g = torch.Generator(device="cpu").manual_seed(0)
    if a.family in ("clip_image", "vit"):
        image = torch.randn(w.batch, 3, w.image, w.image, generator=g, device="cpu")
        return (image.to(dtype=dtype, device=torch.get_default_device()),)
    vocab = {"clip_text": CLIP_VOCAB, "bert": BERT_VOCAB, "gpt2": GPT2_VOCAB}[a.family]
    return (torch.randint(0, vocab, (w.batch, w.seq), generator=g, device="cpu").to(torch.get_default_device()),)


# ---- the workload list -------------------------------------------------------------------------------------

# CLIP designs of the paper's Table 3 (CATransformers, arXiv 2505.01386 v4): per tower (layers, FFN, width, heads).
# CarbonCLIP-XS's text width is printed as 284; 384 is the nearest legal value (BRIEF.md).
CLIP_DESIGNS = {
    "clip_b16": ("CLIP-B/16", (12, 2048, 512, 8), (12, 3072, 768, 12)),
    "tinyclip_8m16": ("TinyCLIP-8M/16", (3, 1024, 256, 4), (10, 1024, 256, 4)),
    "tinyclip_39m16": ("TinyCLIP-39M/16", (6, 2048, 512, 8), (12, 2048, 512, 8)),
    "carbonclip_xs": ("CarbonCLIP-XS", (6, 1024, 384, 4), (6, 1536, 576, 6)),
    "carbonclip_s": ("CarbonCLIP-S", (6, 1024, 512, 6), (8, 1920, 672, 6)),
    "carbonclip_m": ("CarbonCLIP-M", (8, 1536, 512, 6), (9, 2304, 672, 6)),
    "carbonclip_l": ("CarbonCLIP-L", (6, 1280, 384, 5), (10, 2688, 768, 7)),
    "carbonclip_xl": ("CarbonCLIP-XL", (12, 2048, 512, 4), (12, 3072, 768, 5)),
}
# Six random configurations of the legal pruned space (BRIEF.md search space; drawn once with
# random.Random(2025): text layers 6..12, FFN 1024..2048/256, width 256..512/64, heads 4..8; vision layers 6..12,
# FFN 1536..3072/384, width 384..768/96, heads 6..12) and written out here so the ids never change.
CLIP_RANDOM = {
    "rand1": ((10, 1024, 448, 5), (10, 1536, 576, 9)),
    "rand2": ((10, 1280, 256, 7), (9, 1536, 384, 6)),
    "rand3": ((12, 1280, 448, 4), (9, 1536, 768, 6)),
    "rand4": ((10, 2048, 256, 5), (12, 1920, 384, 11)),
    "rand5": ((7, 1792, 448, 6), (10, 1536, 768, 6)),
    "rand6": ((10, 1280, 320, 4), (7, 3072, 384, 6)),
}
CLIP_HOLDOUT = ("tinyclip_39m16", "carbonclip_m", "carbonclip_xl", "rand2", "rand4", "rand6")

# Stacks: (layers, width, heads, FFN), the published base shapes (head dim 64 in all four).
STACKS = {
    "bert_base": ("bert", (12, 768, 12, 3072), "BERT-base (Devlin et al. 2019)", (128, 512, 1024)),
    "bert_large": ("bert", (24, 1024, 16, 4096), "BERT-large (Devlin et al. 2019)", (128, 512, 1024)),
    "vit_large": ("vit", (24, 1024, 16, 4096), "ViT-L/16 (Dosovitskiy et al. 2021)", (224, 384, 512)),
    "gpt2_medium": ("gpt2", (24, 1024, 16, 4096), "GPT-2 medium (Radford et al. 2019)", (128, 512, 1024, 2048)),
}
# Stacks are split as a checkerboard over (sequence-length index, batch index), the parity alternating between
# stacks, so that fit and holdout each hold every stack, every sequence length and every batch size.
STACK_HOLDOUT_PARITY = {"bert_base": 1, "bert_large": 0, "vit_large": 1, "gpt2_medium": 0}


def _clip_workloads() -> list[Workload]:
    out = []
    designs = {k: (src, t, v) for k, (src, t, v) in CLIP_DESIGNS.items()}
    designs.update({k: (f"random legal pruned configuration {k}", t, v) for k, (t, v) in CLIP_RANDOM.items()})
    for key, (src, text, vision) in designs.items():
        split = "holdout" if key in CLIP_HOLDOUT else "fit"
        for tower, shape, family in (("image", vision, "clip_image"), ("text", text, "clip_text")):
            layers, ffn, width, heads = shape
            arch = Arch(f"{key}_{tower}", family, layers, width, heads, ffn, f"{src} {tower} tower")
            seq = (CLIP_IMAGE // CLIP_PATCH) ** 2 + 1 if tower == "image" else CLIP_CONTEXT
            image = CLIP_IMAGE if tower == "image" else None
            out += [Workload(f"clip_{key}_{tower}_b{b}", arch, seq, b, split, image) for b in BATCHES]
    return out


def _stack_workloads() -> list[Workload]:
    out = []
    for key, (family, (layers, width, heads, ffn), src, lengths) in STACKS.items():
        arch = Arch(key, family, layers, width, heads, ffn, src)
        for i, n in enumerate(lengths):
            for j, b in enumerate(BATCHES):
                split = "holdout" if (i + j) % 2 == STACK_HOLDOUT_PARITY[key] else "fit"
                if family == "vit":
                    out.append(Workload(f"{key}_i{n}_b{b}", arch, (n // CLIP_PATCH) ** 2 + 1, b, split, n))
                else:
                    out.append(Workload(f"{key}_s{n}_b{b}", arch, n, b, split))
    return out


WORKLOADS: dict[str, Workload] = {w.id: w for w in _clip_workloads() + _stack_workloads()}


def workload(workload_id: str) -> Workload:
    """The workload with this id (KeyError listing a few valid ids otherwise)."""
    try:
        return WORKLOADS[workload_id]
    except KeyError:
        raise KeyError(f"no GPU workload {workload_id!r}; e.g. {', '.join(list(WORKLOADS)[:3])} "
                       f"({len(WORKLOADS)} in bench.gpu_workloads.WORKLOADS)") from None


def _spec(workload_id: str) -> tuple[nn.Module, tuple]:
    return WORKLOADS[workload_id].build()


def __getattr__(name: str):
    """``bench.gpu_workloads.<id>`` is a callable returning ``(module, example_inputs)`` on the CPU in fp32."""
    if name in WORKLOADS:
        return partial(_spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(WORKLOADS))
