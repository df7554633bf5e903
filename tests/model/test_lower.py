"""Lowering a pruned tower from two layers equals lowering it whole, and its MACs equal the closed form (the fresh
path that parametric templates are fitted from and checked against, tests/model/test_parametric.py); fused by
default, as ``ir.fuse`` fuses the whole lowering."""

import pytest

import ir
from frontend import load_module
from frontend.clip import Arch, CLIPConfig, prune, text_macs, vision_macs
from frontend.clip.lower import _CACHE, lower_fresh
from frontend.openclip import tower_modules
from frontend.proxy import model

CONFIGS = [
    {"text": dict(layers=3, heads=2, ffn=192, width=40), "vision": dict(layers=3, heads=3, ffn=128, width=56)},
    {"text": dict(layers=4, heads=4, ffn=256, width=64), "vision": dict(layers=2, heads=2, ffn=224, width=32)},
]


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("part", ["image", "text"])
def test_two_layer_lowering_equals_full(cfg, part):
    m = model.build()
    arch = Arch.of(m)
    config = CLIPConfig(**cfg)
    g = lower_fresh(m, config, part, fuse=False)
    side = "vision" if part == "image" else "text"
    mod, x = tower_modules(prune(m, config), part)[part]
    full = load_module(mod, x)
    assert ir.totals(g) == ir.totals(full)
    assert ir.totals(g).macs == (vision_macs if part == "image" else text_macs)(arch, config)
    fused = lower_fresh(m, config, part)                                   # the default: through ir.fuse
    assert fused == ir.fuse(g) and ir.totals(fused) == ir.totals(ir.fuse(full))
    assert ir.totals(fused).macs == ir.totals(g).macs and len(fused.ops) < len(g.ops)
    n = len(_CACHE)
    depth = 2 if getattr(config, side).layers != 2 else 4
    deeper_config = config.model_copy(update={side: getattr(config, side).model_copy(update={"layers": depth})})
    deeper = lower_fresh(m, deeper_config, part)
    assert len(_CACHE) == n                                                # every depth of a shape: one lowering
    assert ir.totals(deeper).macs == (vision_macs if part == "image" else text_macs)(arch, deeper_config)
