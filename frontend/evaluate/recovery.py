"""Accuracy recovery of a pruned CLIP: short fine-tuning, optionally distilled from the unpruned model."""

from __future__ import annotations

from torch import nn

MAX_SCALE = 4.0       # a pruned model gets at most 4x the base step budget


def recovery_steps(budget: int, full_macs: int, pruned_macs: int) -> int:
    """Steps for a pruned model: ``budget`` steps at the base model's MACs, scaled by the MAC ratio so every
    variant gets the same compute (CATransformers scales fine-tuning epochs by FLOPs), capped at MAX_SCALE x."""
    if budget <= 0:
        return 0
    return int(round(budget * min(full_macs / max(pruned_macs, 1), MAX_SCALE)))


def recover(pruned: nn.Module, steps: int, teacher: nn.Module | None = None, seed: int = 1,
            lr: float = 5e-4) -> nn.Module:
    """Fine-tune ``pruned`` in place on the built-in benchmark's train split (never calib or test)."""
    from frontend.proxy.train import DEFAULTS, fit
    if steps <= 0:
        return pruned
    if teacher is not None:
        teacher.eval()
    return fit(pruned, steps, DEFAULTS["batch"], lr, DEFAULTS["weight_decay"], max(steps // 10, 1), seed,
               teacher=teacher)
