"""The CLIP towers of CATransformers' Tables 2 and 3 as CATX IR, and the paper's published numbers.

Full models (open_clip's ViT-B-16, ViT-L-14, ViT-H-14; TinyCLIP from its published configs) are built from config
with two layers per tower, lowered through torch.export and TVM Relax, and their folded layer block repeated to the
real depth; pruned CarbonCLIP towers come from ``frontend.clip.lower_tower`` on ViT-B-16 (heads decoupled from
width, as the paper prunes them). Batch 1, 224x224 images, 77 text tokens. Random weights: nothing is downloaded.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import yaml

import ir

DATA = Path(__file__).resolve().parents[1] / "search" / "data" / "catransformers_paper.yaml"


@functools.lru_cache(maxsize=1)
def paper() -> dict:
    return yaml.safe_load(DATA.read_text())


def _repeat_layers(g: ir.Graph, layers: int) -> ir.Graph:
    two = [b for b in g.blocks if b.repeat == 2]
    if not two:
        raise RuntimeError(f"{g.name}: the two lowered layers did not fold into one block")
    layer = max(two, key=lambda b: len(b.ops))
    return replace(g, blocks=[replace(b, repeat=layers) if b is layer else b for b in g.blocks])


def _open_clip_cfg(spec: dict) -> tuple[dict, int, int]:
    """(open_clip model config with two layers per tower, text layers, vision layers)."""
    import open_clip
    if "open_clip" in spec:
        cfg = open_clip.get_model_config(spec["open_clip"])
        t_layers, v_layers = cfg["text_cfg"]["layers"], cfg["vision_cfg"]["layers"]
    else:
        (t_layers, t_w, t_h), (v_layers, v_w, v_h) = spec["text"], spec["vision"]
        cfg = {"embed_dim": 512,
               "vision_cfg": {"image_size": 224, "layers": v_layers, "width": v_w, "patch_size": spec["patch"],
                              "head_width": v_w // v_h},
               "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": t_w, "heads": t_h, "layers": t_layers}}
    cfg = {**cfg, "vision_cfg": {**cfg["vision_cfg"], "layers": 2}, "text_cfg": {**cfg["text_cfg"], "layers": 2}}
    return cfg, t_layers, v_layers


@functools.lru_cache(maxsize=None)
def full_model_towers(name: str) -> tuple[ir.Graph, ir.Graph]:
    """(image, text) IR of one of the paper's unpruned models."""
    import open_clip
    import torch

    from frontend import load_module
    from frontend.openclip import tower_modules
    cfg, t_layers, v_layers = _open_clip_cfg(paper()["models"][name])
    torch.manual_seed(0)
    model = open_clip.CLIP(**cfg).eval()
    mods = tower_modules(model, "both", 1)
    img = _repeat_layers(load_module(*mods["image"], name=f"{name}.image"), v_layers)
    txt = _repeat_layers(load_module(*mods["text"], name=f"{name}.text"), t_layers)
    return img, txt


@functools.lru_cache(maxsize=1)
def _vit_b16():
    import open_clip
    import torch
    torch.manual_seed(0)
    return open_clip.create_model("ViT-B-16", pretrained=None).eval()


@functools.lru_cache(maxsize=None)
def pruned_towers(text: tuple[int, ...], vision: tuple[int, ...]) -> tuple[ir.Graph, ir.Graph]:
    """(image, text) IR of ViT-B/16 pruned to towers given as (layers, FFN, width, heads). CarbonCLIP-XL's 5
    vision heads lie below the 50% floor of CATX's pruning space, so the space is widened to 1..100% here."""
    from frontend import load_module
    from frontend.clip import CLIPConfig
    from frontend.clip.arch import Arch
    from frontend.clip.config import Range, SearchSpace, TowerSpace
    from frontend.clip.prune import prune
    from frontend.openclip import tower_modules
    cfg = CLIPConfig.parse({"text": dict(zip(("layers", "ffn", "width", "heads"), text)),
                            "vision": dict(zip(("layers", "ffn", "width", "heads"), vision))})
    model = _vit_b16()
    arch = Arch.of(model, "ViT-B-16")
    wide = SearchSpace(**{t: TowerSpace(**{k: Range(lo=1, hi=getattr(getattr(arch, t), k)) for k in
                                           ("layers", "heads", "ffn", "width")}) for t in ("text", "vision")})
    pruned = prune(model, cfg, space=wide)
    for tr in (pruned.visual.transformer, pruned.transformer):
        tr.resblocks = tr.resblocks[:2]
    mods = tower_modules(pruned, "both", 1)
    img = _repeat_layers(load_module(*mods["image"], name="ViT-B-16.image"), vision[0])
    txt = _repeat_layers(load_module(*mods["text"], name="ViT-B-16.text"), text[0])
    return img, txt


def table3_towers(name: str) -> tuple[ir.Graph, ir.Graph]:
    """Table 3's row ``name``: the full model where the row is an unpruned model, else the pruned ViT-B/16."""
    if name in paper()["models"]:
        return full_model_towers(name)
    _, _, _, text, vision = paper()["table3"][name]
    return pruned_towers(tuple(text), tuple(vision))


HARDWARE_KNOBS = ("cores", "pe_rows", "pe_cols", "local_buffer_kb", "local_bw_words_per_cycle", "global_buffer_mb")


def table3_hardware(name: str) -> dict:
    return dict(zip(HARDWARE_KNOBS, paper()["table3"][name][2]))
