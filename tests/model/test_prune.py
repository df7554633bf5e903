"""Pruning: shapes, parameter and MAC counts against closed forms and torch's FLOP counter, forward, identity."""

import random

import open_clip
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from frontend.clip import (
    Arch,
    CLIPConfig,
    HeadAttention,
    PruneError,
    Ranking,
    TowerRanking,
    macs,
    params,
    prune,
    text_macs,
    vision_macs,
)
from frontend.clip.config import KNOBS, TOWERS


def random_configs(arch: Arch, n: int, seed: int = 0) -> list[CLIPConfig]:
    rng = random.Random(seed)
    vals = arch.space().knob_values()
    return [CLIPConfig.from_knobs({k: rng.choice(v) for k, v in vals.items()}) for _ in range(n)]


def random_ranking(arch: Arch, seed: int) -> Ranking:
    g = torch.Generator().manual_seed(seed)

    def perm(n):
        return torch.randperm(n, generator=g).tolist()

    def tower(c):
        return TowerRanking(layers=perm(c.layers), heads=[perm(c.heads) for _ in range(c.layers)],
                            ffn=[perm(c.ffn) for _ in range(c.layers)], width=perm(c.width))
    return Ranking(text=tower(arch.text), vision=tower(arch.vision))


def inputs(arch: Arch, batch: int = 2):
    g = torch.Generator().manual_seed(1)
    img = torch.randn(batch, 3, arch.image_size, arch.image_size, generator=g)
    tok = torch.randint(1, arch.vocab_size - 1, (batch, arch.context_length), generator=g)
    tok[:, -1] = arch.vocab_size - 1
    return img, tok


def flop_macs(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() // 2


@pytest.mark.parametrize("seed", range(6))
def test_random_configs_match_closed_forms(tiny, seed):
    arch = Arch.of(tiny)
    cfg = random_configs(arch, 1, seed)[0]
    m = prune(tiny, cfg, random_ranking(arch, seed))
    assert Arch.of(m).config() == cfg
    assert sum(p.numel() for p in m.parameters()) == params(arch, cfg)
    img, tok = inputs(arch, 1)
    assert flop_macs(lambda: m.encode_image(img)) == vision_macs(arch, cfg)
    assert flop_macs(lambda: m.encode_text(tok)) == text_macs(arch, cfg)
    with torch.no_grad():
        fi, ft = m.encode_image(img), m.encode_text(tok)
    assert fi.shape == ft.shape == (1, arch.embed_dim) and torch.isfinite(fi).all() and torch.isfinite(ft).all()


def test_closed_forms_match_unpruned_open_clip(tiny):
    arch = Arch.of(tiny)
    assert sum(p.numel() for p in tiny.parameters()) == params(arch, arch.config())
    # (torch's FLOP counter misses nn.MultiheadAttention's fused attention products, so MACs are checked on
    # pruned models, whose attention is explicit.)


def test_vit_b16_counts():
    m = open_clip.create_model("ViT-B-16", pretrained=None)
    arch = Arch.of(m, "ViT-B-16")
    assert params(arch, arch.config()) == sum(p.numel() for p in m.parameters()) == 149_620_737
    # CarbonCLIP-S (paper table): text 6,1024,512,6; vision 8,1920,672,6
    cfg = CLIPConfig(text=dict(layers=6, ffn=1024, width=512, heads=6), vision=dict(layers=8, ffn=1920, width=672,
                                                                                     heads=6))
    p = prune(m, cfg)
    assert sum(x.numel() for x in p.parameters()) == params(arch, cfg)
    assert isinstance(p.visual.transformer.resblocks[0].attn, HeadAttention)
    assert p.visual.transformer.resblocks[0].attn.in_proj.weight.shape == (3 * 6 * 64, 672)  # heads*64 != width
    assert macs(arch, cfg) < macs(arch, arch.config())


@pytest.mark.parametrize("ranked", [False, True])
def test_full_configuration_leaves_outputs_unchanged(tiny, ranked):
    # A random ranking permutes heads, neurons and residual dims consistently: at full size the function is equal.
    arch = Arch.of(tiny)
    m = prune(tiny, arch.config(), random_ranking(arch, 7) if ranked else None)
    img, tok = inputs(arch)
    with torch.no_grad():
        torch.testing.assert_close(m.encode_image(img), tiny.encode_image(img), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(m.encode_text(tok), tiny.encode_text(tok), atol=1e-5, rtol=1e-5)


def test_pruning_keeps_ranked_units(tiny):
    arch = Arch.of(tiny)
    r = random_ranking(arch, 3)
    cfg = arch.space().smallest()
    m = prune(tiny, cfg, r)
    keep = sorted(r.vision.layers[:cfg.vision.layers])
    dims = torch.tensor(sorted(r.vision.width[:cfg.vision.width]))
    f = torch.tensor(sorted(r.vision.ffn[keep[0]][:cfg.vision.ffn]))
    torch.testing.assert_close(m.visual.transformer.resblocks[0].mlp.c_fc.weight,
                               tiny.visual.transformer.resblocks[keep[0]].mlp.c_fc.weight[f][:, dims])
    assert tiny.visual.transformer.resblocks[0].attn.__class__ is torch.nn.MultiheadAttention  # input untouched


def test_pruned_model_exports(tiny):
    arch = Arch.of(tiny)
    m = prune(tiny, random_configs(arch, 1, 11)[0])
    img, _ = inputs(arch, 1)
    ep = torch.export.export(m.visual, (img,))
    torch.testing.assert_close(ep.module()(img), m.visual(img))


def test_errors(tiny, make_tiny):
    arch = Arch.of(tiny)
    with pytest.raises(PruneError, match="expected an open_clip.model.CLIP"):
        prune(torch.nn.Linear(2, 2), arch.config())
    other = Arch.of(make_tiny(text_width=128))
    with pytest.raises(PruneError, match="text ranking: width is not a permutation"):
        prune(tiny, arch.config(), random_ranking(other, 0))
    bad = arch.config().model_copy(update={"text": arch.text.model_copy(update={"heads": 1})})
    from frontend.clip import ConfigError
    with pytest.raises(ConfigError, match="text.heads = 1"):
        prune(tiny, bad)


def test_every_knob_shrinks_counts(tiny):
    arch = Arch.of(tiny)
    full = arch.config()
    for t in TOWERS:
        for k in KNOBS:
            lo = getattr(getattr(arch.space(), t), k).lo
            cfg = full.model_copy(update={t: getattr(full, t).model_copy(update={k: lo})})
            assert params(arch, cfg) < params(arch, full) and macs(arch, cfg) < macs(arch, full)
