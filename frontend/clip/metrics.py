"""Zero-shot classification and image-text retrieval metrics of a CLIP, from embeddings."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


@torch.no_grad()
def encode(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """L2-normalised embeddings of ``x`` through ``fn`` (``model.encode_image`` / ``encode_text``), in batches."""
    out = [fn(x[i:i + batch]).float() for i in range(0, len(x), batch)]
    return nn.functional.normalize(torch.cat(out), dim=-1)


def zero_shot_accuracy(image_emb: torch.Tensor, class_emb: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose most similar class embedding is their label."""
    pred = (image_emb @ class_emb.T).argmax(dim=1)
    return float((pred == labels.to(pred.device)).float().mean())


def recall_at_k(image_emb: torch.Tensor, text_emb: torch.Tensor, match: torch.Tensor,
                ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Retrieval recall: ``match[i, j]`` is True when text j describes image i (several may). Image->text R@k
    counts images with a matching text among their top k; text->image the same per text. ``r{k}`` is the mean
    of both directions (CATransformers' accuracy proxy is mean R@1)."""
    sim = image_emb @ text_emb.T
    match = match.to(sim.device)
    out: dict[str, float] = {}
    for k in ks:
        ki, kt = min(k, sim.shape[1]), min(k, sim.shape[0])
        i2t = match.gather(1, sim.topk(ki, dim=1).indices).any(dim=1).float().mean()
        t2i = match.T.gather(1, sim.T.topk(kt, dim=1).indices).any(dim=1).float().mean()
        out[f"i2t_r{k}"], out[f"t2i_r{k}"] = float(i2t), float(t2i)
        out[f"r{k}"] = (float(i2t) + float(t2i)) / 2
    return out


def chance_recall(match: torch.Tensor, k: int = 1) -> float:
    """Expected mean R@k of random rankings (exact: 1 - C(n - m, k) / C(n, k) per query, m matches of n)."""
    def direction(m: torch.Tensor) -> float:
        n = m.shape[1]
        probs = []
        for cnt in m.sum(dim=1).tolist():
            miss = 1.0
            for j in range(min(k, n)):
                miss *= max(n - cnt - j, 0) / (n - j)
            probs.append(1.0 - miss)
        return sum(probs) / len(probs)
    return (direction(match) + direction(match.T)) / 2
