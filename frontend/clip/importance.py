"""Importance rankings on calibration data: heads and FFN neurons by first-order loss change when removed
(|dL/dgate|, Michel et al. 2019), optionally exact ablation for heads; vision layers by input/output cosine
similarity; text layers dropped from the middle; residual dimensions by mean activation magnitude."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .arch import Arch
from .cache import cache_root, digest
from .errors import PruneError
from .prune import prune
from .ranking import Ranking, TowerRanking, middle_order
from .train import clip_loss

Batch = tuple[torch.Tensor, torch.Tensor]


def weights_digest(model: nn.Module) -> str:
    """Hash of every parameter and buffer: the identity of a base model in cache keys."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class _Probe:
    """Gates and hooks on one tower of a fully 'pruned' (HeadAttention) copy of the model."""

    def __init__(self, tower: nn.Module):
        self.blocks = list(tower.resblocks)
        self.hooks = []
        self.head_gates, self.ffn_gates = [], []
        n = len(self.blocks)
        self.cos = torch.zeros(n)
        self.mag = torch.zeros(self.blocks[0].ln_1.normalized_shape[0])
        self.count = 0
        dev = self.blocks[0].ln_1.weight.device
        for i, b in enumerate(self.blocks):
            g = torch.ones(b.attn.heads, requires_grad=True, device=dev)
            b.attn.head_gate = g
            self.head_gates.append(g)
            f = torch.ones(b.mlp.c_fc.out_features, requires_grad=True, device=dev)
            self.ffn_gates.append(f)
            self.hooks.append(b.mlp.gelu.register_forward_hook(lambda m, a, out, f=f: out * f))
            self.hooks.append(b.register_forward_hook(self._on_block(i)))

    def _on_block(self, i: int):
        def hook(module, args, out):
            x = args[0].detach()
            self.cos[i] += torch.nn.functional.cosine_similarity(x, out.detach(), dim=-1).mean().cpu()
            self.mag += x.abs().mean(dim=tuple(range(x.ndim - 1))).cpu()
            if i == 0:
                self.count += 1
        return hook

    def close(self) -> None:
        for h in self.hooks:
            h.remove()
        for b in self.blocks:
            b.attn.head_gate = None


def compute_ranking(model: nn.Module, batches: Callable[[int], Batch], n_batches: int, method: str = "taylor",
                    device: str | torch.device = "cpu") -> Ranking:
    """Rank every prunable unit of ``model`` on ``n_batches`` calibration batches (disjoint from evaluation data).

    ``method``: ``taylor`` (one backward pass per batch) or ``ablation`` (heads: loss increase when each head
    alone is removed; FFN neurons still by taylor)."""
    if method not in ("taylor", "ablation"):
        raise PruneError(f"importance method {method!r}: allowed are 'taylor', 'ablation'")
    arch = Arch.of(model)
    ident = Ranking(text=TowerRanking.identity(arch.text), vision=TowerRanking.identity(arch.vision))
    m = prune(model, arch.config(), ident).to(device).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    probes = {"text": _Probe(m.transformer), "vision": _Probe(m.visual.transformer)}
    head = {t: torch.zeros(len(p.blocks), p.blocks[0].attn.heads) for t, p in probes.items()}
    ffn = {t: torch.zeros(len(p.blocks), p.blocks[0].mlp.c_fc.out_features) for t, p in probes.items()}
    data = [tuple(x.to(device) for x in batches(i)) for i in range(n_batches)]
    for images, tokens in data:
        loss = clip_loss(m, images, tokens)
        gates = [g for p in probes.values() for g in (*p.head_gates, *p.ffn_gates)]
        grads = torch.autograd.grad(loss, gates)
        k = 0
        for t, p in probes.items():
            n = len(p.blocks)
            head[t] += torch.stack([g.abs().cpu() for g in grads[k:k + n]])
            ffn[t] += torch.stack([g.abs().cpu() for g in grads[k + n:k + 2 * n]])
            k += 2 * n
    if method == "ablation":
        with torch.no_grad():
            base = sum(float(clip_loss(m, *b)) for b in data)
            for t, p in probes.items():
                for i, g in enumerate(p.head_gates):
                    for h in range(len(g)):
                        g.data[h] = 0.0
                        head[t][i, h] = sum(float(clip_loss(m, *b)) for b in data) - base
                        g.data[h] = 1.0
    towers = {}
    for t, p in probes.items():
        cos = p.cos / max(1, p.count)
        layers = middle_order(len(p.blocks)) if t == "text" else torch.argsort(cos).tolist()
        towers[t] = TowerRanking(layers=layers, heads=[torch.argsort(-r, stable=True).tolist() for r in head[t]],
                                 ffn=[torch.argsort(-r, stable=True).tolist() for r in ffn[t]],
                                 width=torch.argsort(-p.mag, stable=True).tolist())
        p.close()
    return Ranking(text=towers["text"], vision=towers["vision"],
                   source={"method": method, "calibration_batches": str(n_batches)})


def cached_ranking(model: nn.Module, name: str, batches: Callable[[int], Batch], n_batches: int, data_key: str,
                   method: str = "taylor", cache_dir: str | Path | None = None,
                   device: str | torch.device = "cpu") -> Ranking:
    """compute_ranking, cached per (base model weights, calibration data, method)."""
    key = digest([name, weights_digest(model), data_key, n_batches, method])
    path = cache_root(cache_dir) / "rankings" / f"{name}-{key}.json"
    if path.is_file():
        return Ranking.load(path)
    r = compute_ranking(model, batches, n_batches, method, device)
    r = Ranking(text=r.text, vision=r.vision, source={**r.source, "base": name, "data": data_key})
    r.save(path)
    return r
