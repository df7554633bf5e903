"""Training the built-in benchmark's CLIP from scratch (deterministic, seeded), cached as a checkpoint on disk."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from frontend.clip.errors import CheckpointError

from . import model as pm
from .bench import split
from .data import Split, tokenize

DEFAULTS = {"steps": 1200, "batch": 128, "lr": 2e-3, "weight_decay": 0.05, "warmup": 40, "seed": 0}


def cache_dir(path: str | Path | None = None) -> Path:
    """The cache folder: ``path``, else ``$CATX_CACHE``, else ``~/.cache/catx``."""
    return Path(path or os.environ.get("CATX_CACHE") or Path.home() / ".cache" / "catx").expanduser()


def recipe(**over: float) -> dict:
    """The full training recipe (model config, hyper-parameters, data sizes); its hash names the checkpoint."""
    from .bench import SPLIT_SIZES
    return {"model": pm.CONFIG, "splits": SPLIT_SIZES, **DEFAULTS, **over}


def recipe_key(r: dict) -> str:
    return hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()[:12]


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, cap_ids: torch.Tensor) -> torch.Tensor:
    """Symmetric CLIP loss whose targets spread over all pairs with the same caption (no false negatives)."""
    logits = scale * img @ txt.T
    same = (cap_ids[:, None] == cap_ids[None, :]).float()
    target = same / same.sum(dim=1, keepdim=True)
    return (-(target * logits.log_softmax(1)).sum(1).mean() - (target * logits.log_softmax(0)).sum(0).mean()) / 2


def batches(s: Split, batch: int, steps: int, seed: int, dev: torch.device):
    """``steps`` deterministic random batches (pixels, tokens, caption ids) of a split."""
    g = torch.Generator().manual_seed(seed)
    uniq = {c: i for i, c in enumerate(sorted(set(s.captions)))}
    cap_ids = torch.tensor([uniq[c] for c in s.captions])
    tokens = tokenize(s.captions)
    for _ in range(steps):
        idx = torch.randint(len(s), (batch,), generator=g)
        yield s.pixels(idx).to(dev), tokens[idx].to(dev), cap_ids[idx].to(dev)


def ordered_batches(s: Split, batch: int, dev: torch.device | None = None):
    """The whole split once, in order, as (pixels, tokens, caption ids) batches (calibration, deterministic)."""
    uniq = {c: i for i, c in enumerate(sorted(set(s.captions)))}
    cap_ids = torch.tensor([uniq[c] for c in s.captions])
    tokens = tokenize(s.captions)
    for i in range(0, len(s), batch):
        yield s.pixels(slice(i, i + batch)).to(dev), tokens[i:i + batch].to(dev), cap_ids[i:i + batch].to(dev)


def fit(model: nn.Module, steps: int, batch: int, lr: float, weight_decay: float, warmup: int, seed: int,
        teacher: nn.Module | None = None, log: Callable[[str], None] | None = None) -> nn.Module:
    """Train ``model`` in place on the train split; with ``teacher``, add distillation of its similarity logits."""
    dev = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / max(warmup, 1)) * 0.5 * (1 + math.cos(math.pi * min(i / steps, 1.0))))
    model.train()
    t0 = time.time()
    for i, (x, tk, ids) in enumerate(batches(split("train"), batch, steps, seed, dev)):
        img, txt, scale = model(x, tk)
        loss = contrastive_loss(img, txt, scale, ids)
        if teacher is not None:
            with torch.no_grad():
                ti, tt, ts = teacher(x, tk)
                soft = (ts * ti @ tt.T).softmax(1)
            loss = loss + nn.functional.kl_div((scale * img @ txt.T).log_softmax(1), soft, reduction="batchmean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if log and (i % 100 == 0 or i == steps - 1):
            log(f"step {i + 1}/{steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    model.eval()
    return model


def train(seed: int = 0, steps: int | None = None, dev: torch.device | None = None,
          log: Callable[[str], None] | None = None) -> nn.Module:
    """A freshly trained benchmark CLIP (not cached)."""
    r = recipe(seed=seed, **({"steps": steps} if steps else {}))
    model = pm.build(seed).to(dev or pm.device())
    torch.manual_seed(seed)
    return fit(model, r["steps"], r["batch"], r["lr"], r["weight_decay"], r["warmup"], seed, log=log)


def checkpoint_path(cache: str | Path | None = None, seed: int = 0, steps: int | None = None) -> Path:
    r = recipe(seed=seed, **({"steps": steps} if steps else {}))
    return cache_dir(cache) / "proxy" / f"{pm.NAME}-{recipe_key(r)}.pt"


def base_model(cache: str | Path | None = None, seed: int = 0, steps: int | None = None, train_if_missing: bool = True,
               log: Callable[[str], None] | None = None) -> nn.Module:
    """The trained benchmark CLIP from the cache, trained and saved first when missing."""
    path = checkpoint_path(cache, seed, steps)
    dev = pm.device()
    if not path.is_file():
        if not train_if_missing:
            raise CheckpointError(f"{path}: no trained benchmark model; run `catx proxy train` first")
        m = train(seed, steps, dev, log)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({k: v.cpu() for k, v in m.state_dict().items()}, tmp)
        tmp.replace(path)          # atomic: parallel workers never read half a file
        return m
    m = pm.build(seed)
    load_state(m, path)
    return m.to(dev).eval()


def load_state(model: nn.Module, path: Path) -> None:
    """Load a state dict saved for this architecture; CheckpointError naming the file and first mismatch."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    bad = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or extra or bad:
        what = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra else
                f"{bad[0]} has shape {tuple(sd[bad[0]].shape)}, the architecture needs {tuple(own[bad[0]].shape)}")
        raise CheckpointError(f"{path}: checkpoint does not match the architecture: {what}")
    model.load_state_dict(sd)
