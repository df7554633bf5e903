"""Configurations of one base model's legal space carried to another's by relative position on each knob's grid."""

from __future__ import annotations

from frontend.clip.config import KNOBS, TOWERS, CLIPConfig, Range, SearchSpace, TowerConfig, default_space
from frontend.clip.errors import ConfigError


def reference_space(arch: str) -> SearchSpace:
    """The default (50%..100%) space of an open_clip architecture, read from its config file (no weights)."""
    import open_clip
    cfg = open_clip.get_model_config(arch)
    if cfg is None:
        raise ConfigError(f"reference architecture {arch!r} is not an open_clip model config")
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    vis = TowerConfig(layers=v["layers"], heads=v["width"] // v.get("head_width", 64),
                      ffn=int(v["width"] * v.get("mlp_ratio", 4.0)), width=v["width"])
    txt = TowerConfig(layers=t["layers"], heads=t.get("heads", 8), ffn=int(t["width"] * t.get("mlp_ratio", 4.0)),
                      width=t["width"])
    return default_space(txt, vis)


def _carry(v: int, src: Range, dst: Range) -> int:
    n_src, n_dst = len(src.values()) - 1, len(dst.values()) - 1
    frac = (v - src.lo) / (src.hi - src.lo) if src.hi > src.lo else 1.0
    return dst.lo + round(frac * n_dst) * dst.step if n_src else dst.hi


def to_space(config: CLIPConfig, space: SearchSpace, reference: SearchSpace | None) -> CLIPConfig:
    """``config`` itself when legal in ``space``; else, when legal in ``reference``, each knob moved to the same
    relative position on ``space``'s grid (e.g. ViT-B/16 vision heads 9 of 6..12 -> 6 of 4..8); else ConfigError."""
    try:
        return space.validate_config(config)
    except ConfigError as own:
        if reference is None:
            raise
        try:
            reference.validate_config(config)
        except ConfigError:
            raise own from None
    return CLIPConfig(**{t: {k: _carry(getattr(getattr(config, t), k), getattr(getattr(reference, t), k),
                                       getattr(getattr(space, t), k)) for k in KNOBS} for t in TOWERS})
