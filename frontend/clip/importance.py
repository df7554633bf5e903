"""Importance ranking of a CLIP's heads, FFN neurons, layers and residual dimensions on calibration data."""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from .arch import Arch
from .prune import prune
from .ranking import Ranking, TowerRanking, middle_order

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]   # pixels, tokens, caption ids (equal ids = same caption)
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class _Scores:
    """Accumulators of one tower: head and FFN Taylor scores per layer, 1 - cos(in, out) per layer, width scores."""

    def __init__(self, tr: nn.Module):
        self.blocks = list(tr.resblocks)
        n, b = len(self.blocks), self.blocks[0]
        self.heads = torch.zeros(n, b.attn.heads)
        self.ffn = torch.zeros(n, b.mlp.c_fc.out_features)
        self.change = torch.zeros(n)
        self.width = torch.zeros(b.ln_1.normalized_shape[0])
        self.seen = 0
        self.acts: list[torch.Tensor] = []
        self.streams: list[torch.Tensor] = []
        self.hooks = []
        for i, blk in enumerate(self.blocks):
            blk.attn.head_gate = torch.ones(blk.attn.heads, requires_grad=True)
            self.hooks.append(blk.mlp.gelu.register_forward_hook(self._keep(self.acts)))
            self.hooks.append(blk.register_forward_hook(self._similarity(i)))

    def _keep(self, store: list) -> Callable:
        def hook(_m, _inp, out):
            out.retain_grad()
            store.append(out)
        return hook

    def _similarity(self, i: int) -> Callable:
        def hook(_m, inp, out):
            x = inp[0]
            x.retain_grad()
            self.streams.append(x)
            cos = nn.functional.cosine_similarity(x.detach(), out.detach(), dim=-1).mean()
            self.change[i] += float(1 - cos)
        return hook

    def collect(self) -> None:
        """After backward: add this batch's first-order estimates of the loss change when each unit is removed."""
        for i, blk in enumerate(self.blocks):
            self.heads[i] += blk.attn.head_gate.grad.detach().abs().cpu()
            blk.attn.head_gate.grad = None
            a = self.acts[i]
            self.ffn[i] += (a * a.grad).detach().flatten(0, -2).sum(0).abs().cpu()
            x = self.streams[i]
            self.width += (x * x.grad).detach().flatten(0, -2).sum(0).abs().cpu()
        self.acts.clear()
        self.streams.clear()
        self.seen += 1

    def close(self) -> None:
        for h in self.hooks:
            h.remove()
        for blk in self.blocks:
            blk.attn.head_gate = None

    def ranking(self, layer_rule: str, width_rule: str) -> TowerRanking:
        def order(s: torch.Tensor) -> list[int]:
            return [int(i) for i in torch.argsort(s, descending=True, stable=True)]
        n = len(self.blocks)
        layers = middle_order(n) if layer_rule == "middle" else order(self.change)
        width = order(self.width) if width_rule == "importance" else list(range(len(self.width)))
        return TowerRanking(layers=layers, heads=[order(h) for h in self.heads], ffn=[order(f) for f in self.ffn],
                            width=width)


def rank(model: nn.Module, batches: Iterable[Batch], loss_fn: LossFn, text_layers: str = "similarity",
         width: str = "importance", source: dict[str, str] | None = None) -> Ranking:
    """Rank every prunable unit of ``model`` by calibration data (never the evaluation data):

    - heads and FFN neurons, per layer: |dL/dgate| and |sum act * dL/dact|, the first-order loss increase when
      the unit is removed (Taylor importance, accumulated over batches);
    - layers: 1 - cosine similarity between a block's input and output (the least-changing go first); the text
      tower may instead drop middle layers (``text_layers="middle"``, CATransformers' rule);
    - residual dimensions: Taylor importance of the residual stream summed over blocks, or keep-first
      (``width="first"``, the paper's rule).
    """
    arch = Arch.of(model)
    work = prune(model, arch.config())          # same outputs, attention as HeadAttention with head gates
    dev = next(work.parameters()).device
    work.eval()
    for p in work.parameters():
        p.requires_grad_(False)
    towers = {"vision": _Scores(work.visual.transformer), "text": _Scores(work.transformer)}
    # gradients must reach activations although parameters are frozen
    work.visual.conv1.weight.requires_grad_(True)
    work.token_embedding.weight.requires_grad_(True)
    try:
        for x, tk, ids in batches:
            img, txt, scale = work(x.to(dev), tk.to(dev))
            loss_fn(img, txt, scale, ids.to(dev)).backward()
            for s in towers.values():
                s.collect()
    finally:
        for s in towers.values():
            s.close()
    if not towers["text"].seen:
        from .errors import PruneError
        raise PruneError("importance ranking: the calibration data yielded no batches")
    return Ranking(text=towers["text"].ranking(text_layers, width),
                   vision=towers["vision"].ranking("similarity", width),
                   source={"method": f"taylor; layers text={text_layers} vision=similarity; width={width}",
                           **(source or {})})
