"""Structured pruning of open_clip CLIP models by slicing real weights to a configuration."""

from __future__ import annotations

import copy

import torch
from open_clip.transformer import LayerScale
from torch import nn

from .arch import Arch
from .attention import HeadAttention
from .config import CLIPConfig, SearchSpace, TowerConfig
from .ranking import Ranking, TowerRanking


def prune(model: nn.Module, config: CLIPConfig, ranking: Ranking | None = None,
          space: SearchSpace | None = None) -> nn.Module:
    """A new model shaped as ``config``, keeping what ``ranking`` ranks first (keep-first when None).

    ``config`` is validated against ``space`` (default: the base model's 50%..100% space). The input model is
    not modified. Attention becomes HeadAttention, so heads x head_dim may differ from the width."""
    arch = Arch.of(model)
    (space or arch.space()).validate_config(config)
    if ranking is None:
        ranking = Ranking(text=TowerRanking.identity(arch.text, "middle"), vision=TowerRanking.identity(arch.vision))
    ranking.text.check(arch.text, "text")
    ranking.vision.check(arch.vision, "vision")
    new = copy.deepcopy(model)
    v = new.visual
    dims = _prune_tower(v.transformer, config.vision, ranking.vision)
    with torch.no_grad():
        v.conv1 = _conv_out(v.conv1, dims)
        v.class_embedding = nn.Parameter(v.class_embedding[dims].clone())
        v.positional_embedding = nn.Parameter(v.positional_embedding[:, dims].clone())
        v.ln_pre = _ln(v.ln_pre, dims)
        v.ln_post = _ln(v.ln_post, dims)
        v.proj = nn.Parameter(v.proj[dims].clone())
        dims = _prune_tower(new.transformer, config.text, ranking.text)
        emb = nn.Embedding(new.token_embedding.num_embeddings, len(dims)).to(new.token_embedding.weight)
        emb.weight.copy_(new.token_embedding.weight[:, dims])
        new.token_embedding = emb
        new.positional_embedding = nn.Parameter(new.positional_embedding[:, dims].clone())
        new.ln_final = _ln(new.ln_final, dims)
        new.text_projection = nn.Parameter(new.text_projection[dims].clone())
    return new


def _prune_tower(tr: nn.Module, cfg: TowerConfig, rk: TowerRanking) -> torch.Tensor:
    """Slice one Transformer in place; returns the kept residual dimensions."""
    dims = sorted(rk.width[:cfg.width])
    keep = rk.keep_layers(cfg.layers)
    blocks = []
    with torch.no_grad():
        for i in keep:
            b = tr.resblocks[i]
            b.attn = HeadAttention.from_mha(b.attn, sorted(rk.heads[i][:cfg.heads]), dims)
            b.ln_1, b.ln_2 = _ln(b.ln_1, dims), _ln(b.ln_2, dims)
            for ls in ("ls_1", "ls_2"):
                if isinstance(getattr(b, ls), LayerScale):
                    getattr(b, ls).gamma = nn.Parameter(getattr(b, ls).gamma[dims].clone())
            f = torch.tensor(sorted(rk.ffn[i][:cfg.ffn]))
            b.mlp.c_fc = _linear(b.mlp.c_fc, f, torch.tensor(dims))
            b.mlp.c_proj = _linear(b.mlp.c_proj, torch.tensor(dims), f)
            blocks.append(b)
    tr.resblocks = nn.ModuleList(blocks)
    tr.layers, tr.width = len(blocks), len(dims)
    return torch.tensor(dims)


def _linear(lin: nn.Linear, rows: torch.Tensor, cols: torch.Tensor) -> nn.Linear:
    new = nn.Linear(len(cols), len(rows), bias=lin.bias is not None).to(lin.weight)
    new.weight.copy_(lin.weight[rows][:, cols])
    if lin.bias is not None:
        new.bias.copy_(lin.bias[rows])
    return new


def _ln(ln: nn.Module, dims: torch.Tensor) -> nn.Module:
    if not isinstance(ln, nn.LayerNorm):
        return ln
    new = type(ln)(len(dims), eps=ln.eps, elementwise_affine=ln.elementwise_affine).to(ln.weight)
    if ln.elementwise_affine:
        new.weight.copy_(ln.weight[dims])
        new.bias.copy_(ln.bias[dims])
    return new


def _conv_out(conv: nn.Conv2d, dims: torch.Tensor) -> nn.Conv2d:
    new = nn.Conv2d(conv.in_channels, len(dims), conv.kernel_size, conv.stride, bias=conv.bias is not None)
    new = new.to(conv.weight)
    new.weight.copy_(conv.weight[dims])
    if conv.bias is not None:
        new.bias.copy_(conv.bias[dims])
    return new
