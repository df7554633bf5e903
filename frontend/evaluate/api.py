"""``evaluate(config, evaluator, budget)``: the accuracy of a pruned CLIP, cached by its full signature."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from frontend.clip.arch import Arch
from frontend.clip.cache import cache_root, digest, read_json, write_json
from frontend.clip.config import KNOBS, TOWERS, CLIPConfig, SearchSpace, TowerConfig, default_space
from frontend.clip.counts import macs
from frontend.clip.errors import ConfigError
from frontend.clip.importance import cached_ranking, weights_digest
from frontend.clip.prune import prune
from frontend.clip.train import fit

VERSION = 1                 # bump when scoring or recovery changes, so old cache entries are not reused
RECOVERY_CAP = 4.0          # at most this many times the budget, however hard the pruning
CALIB_BATCHES = 4
FINETUNE_BUDGET = 100       # recovery steps at full FLOPs of evaluator "finetune"
# The space a configuration from the paper's search is read in when it does not fit the proxy (ViT-B/16).
VIT_B16_SPACE = default_space(TowerConfig(layers=12, heads=8, ffn=2048, width=512),
                              TowerConfig(layers=12, heads=12, ffn=3072, width=768))


def map_config(config: CLIPConfig, source: SearchSpace, target: SearchSpace) -> CLIPConfig:
    """Carry each knob to the same relative position in the target's range (full -> full, smallest -> smallest)."""
    source.validate_config(config)
    out: dict[str, dict[str, int]] = {}
    for t in TOWERS:
        out[t] = {}
        for k in KNOBS:
            s, d = getattr(getattr(source, t), k), getattr(getattr(target, t), k)
            ns, nd = len(s.values()), len(d.values())
            pos = (getattr(getattr(config, t), k) - s.lo) // s.step
            out[t][k] = d.lo + d.step * (round(pos * (nd - 1) / (ns - 1)) if ns > 1 else nd - 1)
    return CLIPConfig(**out)


def _fit_space(config: CLIPConfig, space: SearchSpace, name: str) -> CLIPConfig:
    """``config`` if legal in ``space``, else carried there from ViT-B/16's space; ConfigError if in neither."""
    try:
        return space.validate_config(config)
    except ConfigError:
        try:
            return map_config(config, VIT_B16_SPACE, space)
        except ConfigError as e:
            raise ConfigError(f"{e} (nor does it fit {name}'s own space {space.knob_values()})") from None


def recovery_steps(arch: Arch, config: CLIPConfig, budget: int) -> int:
    """Fine-tuning steps: the budget scaled by the FLOP reduction (full/pruned MACs), capped at RECOVERY_CAP x."""
    if budget <= 0:
        return 0
    ratio = macs(arch, arch.config()) / macs(arch, config)
    return int(math.ceil(budget * min(RECOVERY_CAP, ratio)))


def evaluate(config: CLIPConfig | dict[str, Any], evaluator: Any = "proxy", budget: int | None = 0,
             cache_dir: str | Path | None = None, steps: int | None = None, method: str = "taylor",
             base: torch.nn.Module | None = None) -> dict[str, Any]:
    """Prune the base model to ``config``, optionally recover with ``budget`` distillation steps (scaled by
    FLOPs), and score it. ``evaluator``: ``"proxy"`` (the built-in benchmark; configurations of ViT-B/16's space
    are mapped onto the proxy's), ``"finetune"`` (the same with recovery, budget FINETUNE_BUDGET unless given)
    or an evaluator object (frontend.evaluate.real) with ``base`` its model.
    Returns zero_shot_acc / r1 / r5 / ... and ``accuracy`` (mean R@1, the paper's proxy); cached on disk."""
    from frontend.proxy import bench

    if evaluator == "finetune":       # the proxy benchmark with recovery: the search's high fidelity level
        evaluator, budget = "proxy", budget or FINETUNE_BUDGET
    budget = int(budget or 0)
    if not isinstance(config, CLIPConfig):
        config = CLIPConfig.parse(config)
    if evaluator == "proxy":
        _fit_space(config, Arch.of(bench.model.build()).space(), bench.model.NAME)   # fail before training
        model = bench.train(steps or bench.DEFAULT_STEPS, cache_dir)
        name, ev_key = bench.model.NAME, ["proxy", bench.TEST_N]
        calib, calib_key = bench.batches("calib", bench.CALIB_N), f"proxy-calib-{bench.CALIB_N}"
        train_batches = bench.batches("train", seed=1)
        score = bench.score
    elif hasattr(evaluator, "score"):
        if base is None:
            raise ConfigError("evaluate: a real evaluator needs base=<the open_clip model to prune>")
        model, name, ev_key = base, getattr(base, "catx_name", "clip"), evaluator.key()
        calib, calib_key = evaluator.calibration_batches(), digest(evaluator.key())
        train_batches = evaluator.calibration_batches()
        score = evaluator.score
    else:
        raise ConfigError(f"evaluate: evaluator {evaluator!r} is not 'proxy' or an evaluator object")
    arch = Arch.of(model, name)
    config = _fit_space(config, arch.space(), name)
    wd = weights_digest(model)
    key = digest([VERSION, name, wd, config.key(), ev_key, budget, method])
    path = cache_root(cache_dir) / "accuracy" / f"{name}-{config.key()}-{key}.json"
    hit = read_json(path)
    if hit is not None:
        return hit
    dev = bench.device()
    ranking = cached_ranking(model, name, calib, CALIB_BATCHES, calib_key, method, cache_dir, dev)
    pruned = prune(model, config, ranking)
    n = recovery_steps(arch, config, budget)
    if n:
        fit(pruned, train_batches, n, lr=5e-4, teacher=model, warmup=min(20, n), device=dev)
    out = {**score(pruned), "recovery_steps": float(n), "macs": float(macs(arch, config)),
           "config": config.knobs()}
    write_json(path, out)
    return out
