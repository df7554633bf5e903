"""Contrastive training of a CLIP, optionally distilled from a teacher: the proxy's training and pruned recovery."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


def clip_loss(model: nn.Module, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE; pairs with identical captions count as positives (soft targets)."""
    logits = _logits(model, images, tokens)
    same = (tokens[:, None, :] == tokens[None, :, :]).all(-1).float()
    target = same / same.sum(1, keepdim=True)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def _logits(model: nn.Module, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    fi = model.encode_image(images, normalize=True)
    ft = model.encode_text(tokens, normalize=True)
    return model.logit_scale.exp().clamp(max=100) * fi @ ft.t()


def fit(model: nn.Module, batches: Callable[[int], Batch], steps: int, lr: float = 1e-3,
        teacher: nn.Module | None = None, distill_weight: float = 1.0, warmup: int = 50,
        device: str | torch.device = "cpu") -> list[float]:
    """AdamW with warmup and cosine decay for ``steps`` steps on ``batches(step)``; with a teacher, adds the KL
    between the teacher's and the student's image-text similarity distributions. Returns the loss per step."""
    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, steps)))))
    losses = []
    for step in range(steps):
        images, tokens = (t.to(device) for t in batches(step))
        loss = clip_loss(model, images, tokens)
        if teacher is not None:
            with torch.no_grad():
                tl = _logits(teacher, images, tokens)
            sl = _logits(model, images, tokens)
            kd = sum(F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")
                     for s, t in ((sl, tl), (sl.t(), tl.t()))) / 2
            loss = loss + distill_weight * kd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
