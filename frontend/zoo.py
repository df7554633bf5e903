"""Small transformer architectures built in torch from config (no downloads), for lowering and ONNX tests.

``mixtral`` is a mixture-of-experts decoder (router softmax, top-k, ``histc`` token counts and grouped expert
matmuls, as HuggingFace's grouped-GEMM Mixtral computes it).

Each ``make_*`` returns ``(module, example_inputs)``, so any of them is a model spec: ``module:frontend.zoo:bert``.
Sizes are small by default; every knob is a keyword argument.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    """Multi-head attention with explicit matmuls; optional causal mask, rotary embedding and grouped KV heads."""

    def __init__(self, width: int, heads: int, kv_heads: int | None = None, causal: bool = False,
                 rotary: bool = False, max_len: int = 512, bias: bool = True):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads or heads
        self.hd = width // heads
        self.q = nn.Linear(width, heads * self.hd, bias=bias)
        self.k = nn.Linear(width, self.kv_heads * self.hd, bias=bias)
        self.v = nn.Linear(width, self.kv_heads * self.hd, bias=bias)
        self.o = nn.Linear(heads * self.hd, width, bias=bias)
        self.causal, self.rotary = causal, rotary
        if causal:
            self.register_buffer("mask", torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)), persistent=False)
        if rotary:
            inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
            ang = torch.outer(torch.arange(max_len).float(), inv)
            self.register_buffer("cos", torch.cat([ang.cos(), ang.cos()], -1), persistent=False)
            self.register_buffer("sin", torch.cat([ang.sin(), ang.sin()], -1), persistent=False)

    @staticmethod
    def _rotate_half(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=-1)
        return torch.cat([-b, a], dim=-1)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        if self.rotary:
            cos, sin = self.cos[:t], self.sin[:t]
            q = q * cos + self._rotate_half(q) * sin
            k = k * cos + self._rotate_half(k) * sin
        if self.kv_heads != self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if self.causal:
            s = s.masked_fill(~self.mask[:t, :t], float("-inf"))
        if pad_mask is not None:
            s = s + pad_mask
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, self.heads * self.hd)
        return self.o(y)


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float = 1e-6):
        super().__init__()
        self.w, self.eps = nn.Parameter(torch.ones(width)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


class Block(nn.Module):
    """A transformer layer: pre- or post-LN, GELU MLP or SiLU-gated MLP."""

    def __init__(self, width: int, heads: int, ffn: int, pre_ln: bool = True, gated: bool = False,
                 rms: bool = False, **attn):
        super().__init__()
        norm = (lambda: RMSNorm(width)) if rms else (lambda: nn.LayerNorm(width))
        self.n1, self.n2 = norm(), norm()
        self.attn = Attention(width, heads, bias=not gated, **attn)
        self.pre_ln, self.gated = pre_ln, gated
        if gated:
            self.gate, self.up = nn.Linear(width, ffn, bias=False), nn.Linear(width, ffn, bias=False)
            self.down = nn.Linear(ffn, width, bias=False)
        else:
            self.up, self.down = nn.Linear(width, ffn), nn.Linear(ffn, width)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        if self.gated:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x)))

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_ln:
            x = x + self.attn(self.n1(x), pad_mask)
            return x + self.mlp(self.n2(x))
        x = self.n1(x + self.attn(x, pad_mask))
        return self.n2(x + self.mlp(x))


class Bert(nn.Module):
    def __init__(self, vocab: int = 1000, width: int = 128, heads: int = 4, ffn: int = 512, layers: int = 2,
                 max_len: int = 128):
        super().__init__()
        self.tok, self.pos, self.typ = nn.Embedding(vocab, width), nn.Embedding(max_len, width), nn.Embedding(2, width)
        self.ln = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(Block(width, heads, ffn, pre_ln=False) for _ in range(layers))
        self.pool = nn.Linear(width, width)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        x = self.ln(self.tok(ids) + self.pos.weight[:t] + self.typ.weight[0])
        pad = (1.0 - attention_mask[:, None, None, :].float()) * -1e4
        for blk in self.blocks:
            x = blk(x, pad)
        return torch.tanh(self.pool(x[:, 0]))


class GPT2(nn.Module):
    def __init__(self, vocab: int = 1000, width: int = 128, heads: int = 4, layers: int = 2, max_len: int = 128):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(max_len, width)
        self.blocks = nn.ModuleList(Block(width, heads, 4 * width, causal=True, max_len=max_len)
                                    for _ in range(layers))
        self.ln = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids) + self.pos.weight[: ids.shape[1]]
        for blk in self.blocks:
            x = blk(x)
        return self.ln(x) @ self.tok.weight.t()  # tied LM head


class ViT(nn.Module):
    def __init__(self, image: int = 64, patch: int = 16, width: int = 128, heads: int = 4, layers: int = 2,
                 classes: int = 10):
        super().__init__()
        n = (image // patch) ** 2
        self.stem = nn.Conv2d(3, width, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, width))
        self.blocks = nn.ModuleList(Block(width, heads, 4 * width) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, classes)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.stem(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x[:, 0]))


class Llama(nn.Module):
    def __init__(self, vocab: int = 1000, width: int = 128, heads: int = 4, kv_heads: int = 2, ffn: int = 352,
                 layers: int = 2, max_len: int = 128):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads, ffn, gated=True, rms=True, kv_heads=kv_heads, causal=True,
                                          rotary=True, max_len=max_len) for _ in range(layers))
        self.norm = RMSNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


class WhisperEncoder(nn.Module):
    def __init__(self, mels: int = 80, frames: int = 200, width: int = 128, heads: int = 4, layers: int = 2):
        super().__init__()
        self.c1 = nn.Conv1d(mels, width, 3, padding=1)
        self.c2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        t = frames // 2
        pos = torch.arange(t)[:, None] / (10000 ** (torch.arange(0, width, 2)[None] / width))
        self.register_buffer("pos", torch.cat([pos.sin(), pos.cos()], -1), persistent=False)
        self.blocks = nn.ModuleList(Block(width, heads, 4 * width) for _ in range(layers))
        self.ln = nn.LayerNorm(width)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.c2(F.gelu(self.c1(mel)))).transpose(1, 2) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.ln(x)


class Experts(nn.Module):
    """``experts`` SiLU-gated FFNs with stacked weights, run as grouped matmuls over tokens sorted by expert."""

    def __init__(self, width: int, ffn: int, experts: int):
        super().__init__()
        self.gate_proj = nn.Parameter(torch.randn(experts, width, ffn) * width ** -0.5)
        self.up_proj = nn.Parameter(torch.randn(experts, width, ffn) * width ** -0.5)
        self.down_proj = nn.Parameter(torch.randn(experts, ffn, width) * ffn ** -0.5)

    @staticmethod
    def _grouped(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        # torch's grouped matmul wants bfloat16 operands; the result is cast back
        return torch._grouped_mm(x.bfloat16(), w.bfloat16(), offs=offsets).to(x.dtype)

    def forward(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        h = F.silu(self._grouped(x, self.gate_proj, offsets)) * self._grouped(x, self.up_proj, offsets)
        return self._grouped(h, self.down_proj, offsets)


class MoE(nn.Module):
    """Mixtral's sparse MoE block: a router picks ``top_k`` of ``experts`` FFNs per token, weights renormalised."""

    def __init__(self, width: int, ffn: int, experts: int = 4, top_k: int = 2):
        super().__init__()
        self.router = nn.Linear(width, experts, bias=False)
        self.experts = Experts(width, ffn, experts)
        self.num_experts, self.top_k = experts, top_k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        h = x.reshape(-1, w)
        probs = F.softmax(self.router(h), dim=-1)
        weights, chosen = torch.topk(probs, self.top_k, dim=-1)
        weights = weights / weights.sum(-1, keepdim=True)
        flat = chosen.reshape(-1)
        order = torch.argsort(flat)                      # token copies grouped by expert
        counts = torch.histc(flat.float(), bins=self.num_experts, min=0, max=self.num_experts - 1)
        offsets = torch.cumsum(counts, 0).to(torch.int32)
        token = order // self.top_k
        y = self.experts(h[token], offsets) * weights.reshape(-1)[order].unsqueeze(-1)
        return torch.zeros_like(h).index_add(0, token, y).view(b, t, w)


class MixtralBlock(nn.Module):
    """A Mixtral decoder layer: RMSNorm, causal grouped-query attention with rotary embedding, RMSNorm, MoE."""

    def __init__(self, width: int, heads: int, kv_heads: int, ffn: int, experts: int, top_k: int, max_len: int):
        super().__init__()
        self.n1, self.n2 = RMSNorm(width), RMSNorm(width)
        self.attn = Attention(width, heads, kv_heads=kv_heads, causal=True, rotary=True, max_len=max_len, bias=False)
        self.moe = MoE(width, ffn, experts, top_k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.n1(x))
        return x + self.moe(self.n2(x))


class Mixtral(nn.Module):
    def __init__(self, vocab: int = 1000, width: int = 128, heads: int = 4, kv_heads: int = 2, ffn: int = 256,
                 experts: int = 4, top_k: int = 2, layers: int = 2, max_len: int = 128):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(MixtralBlock(width, heads, kv_heads, ffn, experts, top_k, max_len)
                                    for _ in range(layers))
        self.norm = RMSNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


def bert(seq: int = 32, **kw) -> tuple[nn.Module, tuple]:
    m = Bert(**kw).eval()
    mask = torch.ones(1, seq, dtype=torch.long)
    mask[0, -4:] = 0
    return m, (torch.randint(0, 1000, (1, seq)), mask)


def gpt2(seq: int = 32, **kw) -> tuple[nn.Module, tuple]:
    return GPT2(**kw).eval(), (torch.randint(0, 1000, (1, seq)),)


def vit(image: int = 64, **kw) -> tuple[nn.Module, tuple]:
    return ViT(image=image, **kw).eval(), (torch.randn(1, 3, image, image),)


def llama(seq: int = 32, **kw) -> tuple[nn.Module, tuple]:
    return Llama(**kw).eval(), (torch.randint(0, 1000, (1, seq)),)


def whisper(frames: int = 200, **kw) -> tuple[nn.Module, tuple]:
    return WhisperEncoder(frames=frames, **kw).eval(), (torch.randn(1, 80, frames),)


def mixtral(seq: int = 32, **kw) -> tuple[nn.Module, tuple]:
    return Mixtral(**kw).eval(), (torch.randint(0, 1000, (1, seq)),)


def clip_text(**kw) -> tuple[nn.Module, tuple]:
    """A small open_clip CLIP text tower built from a config dict (same block structure as ViT-B/16's)."""
    import open_clip

    from .openclip import TextTower

    cfg = dict(embed_dim=128, vision_cfg=dict(image_size=32, layers=2, width=128, patch_size=8),
               text_cfg=dict(context_length=32, vocab_size=1000, width=128, heads=4, layers=2))
    cfg.update(kw)
    model = open_clip.CLIP(**cfg).eval()
    return TextTower(model), (torch.zeros(1, 32, dtype=torch.long),)


def clip_image(**kw) -> tuple[nn.Module, tuple]:
    """The image tower of the same small open_clip CLIP."""
    import open_clip

    cfg = dict(embed_dim=128, vision_cfg=dict(image_size=32, layers=2, width=128, patch_size=8),
               text_cfg=dict(context_length=32, vocab_size=1000, width=128, heads=4, layers=2))
    cfg.update(kw)
    return open_clip.CLIP(**cfg).eval().visual, (torch.randn(1, 3, 32, 32),)


ARCHITECTURES = {"bert": bert, "gpt2": gpt2, "vit": vit, "llama": llama, "whisper": whisper,
                 "clip_text": clip_text, "clip_image": clip_image}   # dense: torch and ONNX paths
MIXTURE_OF_EXPERTS = {"mixtral": mixtral}                            # torch path only (no ONNX export)
