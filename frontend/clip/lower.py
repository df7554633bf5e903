"""IR of a pruned tower: from the family's parametric template (milliseconds), else lowered afresh (two layers
lowered, folded into one block and repeated to the real depth); fused (``ir.fuse``) unless asked otherwise."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torch import nn

import ir

from .arch import Arch
from .config import CLIPConfig
from .errors import PruneError
from .prune import prune

_CACHE: dict[tuple, ir.Graph] = {}
PART_SIDE = {"image": "vision", "text": "text"}


LAYER_BLOCK = "layers"  # the name of the repeated transformer layer in a lowered tower


def with_depth(g: ir.Graph, layers: int) -> ir.Graph:
    """The same tower with its repeated layer run ``layers`` times (layers are identical after pruning)."""
    if not any(b.name == LAYER_BLOCK for b in g.blocks):
        raise PruneError(f"graph {g.name!r} has no block named {LAYER_BLOCK!r}; lower it with lower_tower")
    return replace(g, blocks=[replace(b, repeat=layers) if b.name == LAYER_BLOCK else b for b in g.blocks])


def lower_tower(model: nn.Module, config: CLIPConfig, part: str, batch: int = 1, name: str = "",
                cache_dir: str | Path | None = None, fuse: bool = True) -> ir.Graph:
    """The IR of tower ``part`` ("image" or "text") of ``model`` pruned to ``config``.

    Instantiated from the family's parametric template (``frontend.clip.parametric``; fitted once per base
    model and cached on disk under ``cache_dir``), which gives the same graph as ``lower_fresh``; families that do
    not fit one are lowered afresh. ``fuse`` as in ``lower_fresh``. ConfigError when ``config`` is outside the base
    model's pruning space."""
    from .parametric import template

    Arch.of(model, name).space().validate_config(config)
    tpl = template(model, part, batch, name, cache_dir, fuse=fuse)
    if tpl is not None:
        return tpl.instantiate(getattr(config, PART_SIDE[part]))
    return lower_fresh(model, config, part, batch, name, fuse=fuse)


def lower_fresh(model: nn.Module, config: CLIPConfig, part: str, batch: int = 1, name: str = "",
                depth: int | None = None, fuse: bool = True) -> ir.Graph:
    """Lower tower ``part`` of ``model`` pruned to ``config`` through torch.export and TVM (seconds).

    Layers of a pruned tower are identical, so a copy with two layers is lowered and folded, and its layer block
    (named ``LAYER_BLOCK``) repeated to the real depth (or ``depth``). With ``fuse`` (the default) the folded graph
    goes through ``ir.fuse`` (mask artefacts dropped, attention fused, epilogues joined to their contraction; MACs
    unchanged; the passes keep the layer block, so fusing before or after the repeat gives the same graph).
    Cached in memory by (base architecture, part, tower shape, batch, fuse): every depth of one shape shares one
    lowering."""
    from frontend import load_module
    from frontend.openclip import tower_modules

    arch = Arch.of(model, name)
    tc = getattr(config, PART_SIDE[part])
    depth = tc.layers if depth is None else depth
    key = (arch, part, tc.heads, tc.ffn, tc.width, batch)
    if fuse:
        fused = (*key, "fused")
        if fused not in _CACHE:
            _CACHE[fused] = ir.fuse(lower_fresh(model, config, part, batch, name, fuse=False))
        return with_depth(_CACHE[fused], depth)
    if key in _CACHE:
        return with_depth(_CACHE[key], depth)
    pruned = prune(model, config)
    tr = pruned.visual.transformer if part == "image" else pruned.transformer
    tr.resblocks = tr.resblocks[:2]
    mod, x = tower_modules(pruned, part, batch)[part]
    g = load_module(mod, x, name=f"{arch.name}.{part}.h{tc.heads}-f{tc.ffn}-w{tc.width}")
    two = [b for b in g.blocks if b.repeat == 2]
    if not two:
        raise PruneError(f"lowering {arch.name} {part}: the two layers did not fold into one block")
    layer = max(two, key=lambda b: len(b.ops))
    g = replace(g, blocks=[replace(b, name=LAYER_BLOCK) if b is layer else b for b in g.blocks])
    _CACHE[key] = g
    return with_depth(g, depth)
