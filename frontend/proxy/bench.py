"""The built-in benchmark: train the proxy CLIP (cached), and score any model on the held-out test split."""

from __future__ import annotations

import hashlib
import json
import os
import time
from functools import lru_cache
from pathlib import Path

import torch

from frontend.clip.cache import cache_root
from frontend.clip.errors import CheckpointError
from frontend.clip.train import fit
from frontend.evaluate.metrics import chance_recall, encode, retrieval_recall, zero_shot_accuracy
from ir.files import check_file

from . import data, model

TRAIN_N, CALIB_N, TEST_N = 20000, 512, 1000
DEFAULT_STEPS, BATCH, LR = 300, 128, 2e-3


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@lru_cache(maxsize=4)
def split(name: str, n: int) -> data.Split:
    return data.make_split(name, n, model.PROXY_CFG["vision_cfg"]["image_size"])


def batches(name: str = "train", n: int = TRAIN_N, batch: int = BATCH, seed: int = 0):
    """Deterministic batch sampler: step -> (images, tokens)."""
    s = split(name, n)
    tokens = data.tokenize(s.captions)

    def get(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        i = torch.randint(0, len(s), (batch,), generator=g)
        return s.pixels(i), tokens[i]
    return get


def checkpoint_path(steps: int, cache_dir: str | Path | None = None) -> Path:
    """Cache file of a training run, keyed by everything that shapes the weights: the architecture, the data,
    and the optimiser's settings (a change to any of them trains anew instead of loading a mismatched file)."""
    signature = json.dumps({"cfg": model.PROXY_CFG, "steps": steps, "batch": BATCH, "lr": LR, "train_n": TRAIN_N,
                            "data": data.SPLIT_SEEDS, "held_out": data.HELD_OUT}, sort_keys=True)
    digest = hashlib.sha256(signature.encode()).hexdigest()[:12]
    return cache_root(cache_dir) / "proxy" / f"{model.NAME}-s{steps}-b{BATCH}-{digest}.pt"


def load_cached_checkpoint(m: torch.nn.Module, path: Path) -> None:
    """Weights from the training cache; CheckpointError naming the file when it is unreadable or does not fit."""
    check_file(path, "cached checkpoint", CheckpointError)
    try:
        m.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as e:  # torch raises many types for unreadable or mismatched files
        raise CheckpointError(f"cached checkpoint {path}: cannot be loaded ({type(e).__name__}); delete it to "
                              "train again") from None


def train(steps: int = DEFAULT_STEPS, cache_dir: str | Path | None = None, force: bool = False,
          log: bool = False) -> torch.nn.Module:
    """The trained proxy CLIP: loaded from the cache, or trained from scratch (seeded) and cached."""
    path = checkpoint_path(steps, cache_dir)
    m = model.build()
    if path.is_file() and not force:
        load_cached_checkpoint(m, path)
        return m.eval()
    t0 = time.perf_counter()
    losses = fit(m, batches(), steps, lr=LR, device=device())
    m = m.cpu().eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(m.state_dict(), tmp)
    tmp.replace(path)
    if log:
        print(f"trained {model.NAME} for {steps} steps in {time.perf_counter() - t0:.1f} s; "
              f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; saved {path}")
    return m


@torch.no_grad()
def score(m: torch.nn.Module, n: int = TEST_N) -> dict[str, float]:
    """Zero-shot accuracy (colour x shape, prompt ensemble) and retrieval recall on the test split."""
    dev = device()
    m = m.to(dev).eval()
    s = split("test", n)
    img = encode(m, images=s.pixels(), device=dev)
    uniq = sorted(set(s.captions))
    txt = encode(m, tokens=data.tokenize(uniq), device=dev)
    col = {c: j for j, c in enumerate(uniq)}
    # retrieval over the distinct captions: image -> its caption, caption -> any image it describes
    match = torch.zeros(len(s), len(uniq), dtype=torch.bool)
    match[torch.arange(len(s)), torch.tensor([col[c] for c in s.captions])] = True
    cls = torch.stack([torch.nn.functional.normalize(encode(m, tokens=data.tokenize(data.class_prompts(c)),
                                                            device=dev).mean(0), dim=0)
                       for c in range(len(data.CLASSES))])
    held = torch.tensor([data.CLASSES[int(c)] in data.HELD_OUT for c in s.labels])
    pred_ok = (img @ cls.t()).argmax(1) == s.labels
    out = {"zero_shot_acc": zero_shot_accuracy(img, cls, s.labels),
           "zero_shot_acc_held_out": float(pred_ok[held].float().mean()),
           **retrieval_recall(img, txt, match)}
    out["accuracy"] = out["r1"]
    return out


def chance(n: int = TEST_N) -> dict[str, float]:
    """What a random model scores on the same test split."""
    s = split("test", n)
    uniq = sorted(set(s.captions))
    col = {c: j for j, c in enumerate(uniq)}
    match = torch.zeros(len(s), len(uniq), dtype=torch.bool)
    match[torch.arange(len(s)), torch.tensor([col[c] for c in s.captions])] = True
    return {"zero_shot_acc": 1 / len(data.CLASSES), "r1": chance_recall(match, 1), "r5": chance_recall(match, 5)}
