"""The built-in evaluator: prune the benchmark CLIP by its cached importance ranking, optionally recover, score."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from frontend.clip import Arch, CLIPConfig, Ranking, macs, params, prune
from frontend.clip.importance import rank
from frontend.proxy import bench, train
from frontend.proxy import model as pm

from .recovery import recover, recovery_steps

RANK_BATCH = 128
_bases: dict[tuple, tuple] = {}


def base_key(seed: int = 0) -> str:
    """Names the trained base model (its full recipe hash) in cache paths and results."""
    return f"{pm.NAME}-{train.recipe_key(train.recipe(seed=seed))}"


def ranking_path(cache: Path, seed: int = 0) -> Path:
    return cache / "rankings" / f"{base_key(seed)}.json"


def base(cache: Path, seed: int = 0) -> tuple[torch.nn.Module, Arch, Ranking]:
    """The trained benchmark CLIP, its Arch and its importance ranking on the calib split (all cached)."""
    key = (str(cache), seed)
    if key not in _bases:
        model = train.base_model(cache, seed)
        arch = Arch.of(model, pm.NAME)
        path = ranking_path(cache, seed)
        if path.is_file():
            ranking = Ranking.load(path)
        else:
            ranking = rank(model, train.ordered_batches(bench.split("calib"), RANK_BATCH), train.contrastive_loss,
                           source={"base": base_key(seed), "data": f"calib split ({len(bench.split('calib'))})"})
            ranking.save(path)
        _bases[key] = (model, arch, ranking)
    return _bases[key]


def run(config: CLIPConfig, cache: Path, budget: int, distill: bool, seed: int = 0) -> dict[str, Any]:
    """Metrics of ``config`` (legal in the benchmark CLIP's space) after ``budget``-scaled recovery."""
    t0 = time.time()
    model, arch, ranking = base(cache, seed)
    torch.manual_seed(seed)
    pruned = prune(model, config, ranking)
    full, small = macs(arch, arch.config()), macs(arch, config)
    steps = recovery_steps(budget, full, small)
    recover(pruned, steps, teacher=model if distill else None)
    out = bench.score(pruned)
    out.update(params=params(arch, config), macs=small, macs_ratio=small / full, recovery_steps=steps,
               seconds=time.time() - t0)
    return out
