"""Parametric lowering: a configuration instantiated from the fitted template is the graph a fresh lowering gives
(ops, dims, index maps, MACs, estimates), fused by default and unfused on request; the cache survives processes and
is rebuilt when corrupt or stale."""

from __future__ import annotations

import json
import logging
import random

import pytest

import backend
import ir
from frontend.clip import Arch, CLIPConfig, ConfigError, lower_fresh, lower_tower, text_macs, vision_macs
from frontend.clip import parametric as P
from frontend.clip.config import Range, TowerConfig, TowerSpace
from frontend.clip.lower import _CACHE

PARTS = {"image": "vision", "text": "text"}


def random_configs(arch: Arch, n: int, seed: int) -> list[CLIPConfig]:
    rng = random.Random(seed)
    kv = arch.space().knob_values()
    return [CLIPConfig.from_knobs({k: rng.choice(v) for k, v in kv.items()}) for _ in range(n)]


def assert_same_as_fresh(model, arch: Arch, cfg: CLIPConfig, part: str, cache_dir, hw=None) -> None:
    """The instantiated tower (fused, the default) equals ``ir.fuse`` of the whole-depth fresh lowering, the unfused
    instantiation equals the fresh unfused lowering; fusing keeps the closed-form MACs."""
    g = lower_tower(model, cfg, part, cache_dir=cache_dir)
    u = lower_tower(model, cfg, part, cache_dir=cache_dir, fuse=False)
    _CACHE.clear()
    unfused = lower_fresh(model, cfg, part, fuse=False)
    fresh = ir.fuse(unfused)
    assert g == fresh                                      # ops, dims, index maps, tensors, blocks, names
    assert ir.to_json(g) == ir.to_json(fresh)
    assert u == unfused and ir.to_json(u) == ir.to_json(unfused)
    assert any(o.kind == ir.OpKind.ATTENTION for o in g.ops)
    assert not any(o.kind == ir.OpKind.ATTENTION for o in u.ops)
    macs = (vision_macs if part == "image" else text_macs)(arch, cfg)
    assert ir.totals(g).macs == ir.totals(u).macs == ir.totals(fresh).macs == macs
    if hw is not None:
        for attention in ("best", "fused", "unfused"):
            a, b = backend.estimate(g, hw, attention=attention), backend.estimate(fresh, hw, attention=attention)
            assert (a.latency_s, a.energy_j, a.area_mm2) == (b.latency_s, b.energy_j, b.area_mm2)


@pytest.fixture
def fresh_memory(monkeypatch):
    monkeypatch.setattr(P, "_TEMPLATES", {})


@pytest.mark.parametrize("part", ["image", "text"])
def test_instantiated_towers_equal_fresh_lowerings(tiny, part, tmp_path, fresh_memory):
    arch = Arch.of(tiny)
    hw = backend.presets.get("catransformers-edge")
    for i, cfg in enumerate([arch.space().full(), arch.space().smallest(), *random_configs(arch, 3, seed=7)]):
        assert_same_as_fresh(tiny, arch, cfg, part, tmp_path, hw if i < 2 else None)


def test_template_comes_from_disk_without_lowering(tiny, tmp_path, fresh_memory, monkeypatch):
    arch = Arch.of(tiny)
    cfg = random_configs(arch, 1, seed=3)[0]
    first = lower_tower(tiny, cfg, "image", cache_dir=tmp_path)
    assert len(list((tmp_path / "lowering").glob("*-image-b1-fused-*.json"))) == 1
    monkeypatch.setattr(P, "_TEMPLATES", {})

    def no_lowering(*a, **k):
        raise AssertionError("lowered although the template is cached")
    monkeypatch.setattr("frontend.clip.lower.lower_fresh", no_lowering)
    assert lower_tower(tiny, cfg, "image", cache_dir=tmp_path) == first


def test_corrupt_or_tampered_cache_is_rebuilt_never_used(tiny, tmp_path, fresh_memory, monkeypatch, caplog):
    arch = Arch.of(tiny)
    cfg = random_configs(arch, 1, seed=4)[0]
    want = lower_tower(tiny, cfg, "text", cache_dir=tmp_path)
    path = next((tmp_path / "lowering").glob("*-text-b1-*.json"))
    doc = json.loads(path.read_text())
    doc["body"]["coef"][0][0] += 1                         # a wrong coefficient, checksum left as it was
    for bad in (json.dumps(doc), "{ not json", ""):
        path.write_text(bad)
        monkeypatch.setattr(P, "_TEMPLATES", {})
        with caplog.at_level(logging.WARNING, logger="catx.lowering"):
            assert lower_tower(tiny, cfg, "text", cache_dir=tmp_path) == want
        assert "corrupt or stale" in caplog.text
        caplog.clear()
        assert P._read(path, doc["key"]) is not None       # rewritten whole


def test_stale_code_version_gets_its_own_cache_entry(tiny, tmp_path, fresh_memory, monkeypatch):
    arch = Arch.of(tiny)
    cfg = random_configs(arch, 1, seed=5)[0]
    lower_tower(tiny, cfg, "text", cache_dir=tmp_path)
    monkeypatch.setattr(P, "_TEMPLATES", {})
    monkeypatch.setattr(P, "code_version", lambda: "0" * 16)
    lower_tower(tiny, cfg, "text", cache_dir=tmp_path)
    assert len(list((tmp_path / "lowering").glob("*-text-b1-*.json"))) == 2


def test_another_structure_is_another_template(make_tiny, tmp_path, fresh_memory):
    a, b, c = make_tiny(0), make_tiny(0, vision_width=64), make_tiny(1)
    a.catx_name = b.catx_name = c.catx_name = "same-name"
    assert P.structure_digest(a) != P.structure_digest(b)
    assert P.structure_digest(a) == P.structure_digest(c)                  # weights do not matter
    cfg = Arch.of(b).space().smallest()
    assert_same_as_fresh(b, Arch.of(b), cfg, "image", tmp_path)


def test_configuration_outside_the_space_is_a_config_error(tiny, tmp_path, fresh_memory):
    arch = Arch.of(tiny)
    full = arch.space().full()
    bad = full.model_copy(update={"vision": full.vision.model_copy(update={"heads": 1})})
    with pytest.raises(ConfigError, match="vision.heads"):
        lower_tower(tiny, bad, "image", cache_dir=tmp_path)
    tpl = P.template(tiny, "image", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="vision.width = 7"):
        tpl.instantiate(full.vision.model_copy(update={"width": 7}))


def test_family_that_does_not_fit_falls_back_to_fresh_lowering(tiny, tmp_path, fresh_memory, monkeypatch, caplog):
    def refuse(*a, **k):
        raise P.FitError("numbers not affine (forced)")
    monkeypatch.setattr(P, "fit", refuse)
    arch = Arch.of(tiny)
    cfg = random_configs(arch, 1, seed=9)[0]
    with caplog.at_level(logging.WARNING, logger="catx.lowering"):
        g = lower_tower(tiny, cfg, "image", cache_dir=tmp_path)
    assert "does not fit" in caplog.text and "lowered afresh" in caplog.text
    _CACHE.clear()
    assert g == lower_fresh(tiny, cfg, "image")
    monkeypatch.setattr(P, "_TEMPLATES", {})                 # the verdict is cached too: no refit next process
    assert P.template(tiny, "image", cache_dir=tmp_path) is None


# -- the fit itself, on synthetic families with known answers --------------------------------------------------
SPACE = TowerSpace(layers=Range(lo=2, hi=4), heads=Range(lo=2, hi=4), ffn=Range(lo=128, hi=256, step=32),
                   width=Range(lo=32, hi=64, step=8))
BASE = TowerConfig(layers=4, heads=4, ffn=256, width=64)


def test_fit_recovers_exact_affine_forms_with_rational_coefficients():
    def lower(tc):
        return f'{{"a": [{3 * tc.heads * 16 + 2}, {tc.ffn // 2}, {tc.width}], "n": "x{tc.width * 3 // 2}y", "c": 7}}'
    tpl = P.fit(lower, SPACE, BASE, "image")
    for h in SPACE.heads.values():
        for f in SPACE.ffn.values():
            for w in SPACE.width.values():
                tc = TowerConfig(layers=3, heads=h, ffn=f, width=w)
                assert tpl.text(tc) == lower(tc)
    assert len(tpl.slots) == 4 and sorted(tpl.den.tolist()) == [1, 1, 2, 2]


def test_fit_recovers_exact_multilinear_forms():
    def lower(tc):           # products of knobs, as weight sizes in folded-op statistics
        h, f, w = tc.heads, tc.ffn, tc.width
        return f'{{"moved": {f * w + 3 * h * w}, "all": {h * f * w // 2 + 7}, "dim": {h * 64}}}'
    tpl = P.fit(lower, SPACE, BASE, "image")
    for h in SPACE.heads.values():
        for f in SPACE.ffn.values():
            for w in SPACE.width.values():
                tc = TowerConfig(layers=2, heads=h, ffn=f, width=w)
                assert tpl.text(tc) == lower(tc)
    assert sorted(tpl.den.tolist()) == [1, 1, 2]
    again = P.TowerTemplate.from_dict(json.loads(json.dumps(tpl.to_dict())))   # Python ints survive JSON
    assert again.text(TowerConfig(layers=2, heads=3, ffn=160, width=40)) == lower(TowerConfig(layers=2, heads=3,
                                                                                             ffn=160, width=40))


def test_fit_rejects_squares_and_structure_changes():
    with pytest.raises(P.FitError, match="not multilinear"):
        P.fit(lambda tc: f"[{tc.width * tc.width}]", SPACE, BASE, "image")
    with pytest.raises(P.FitError, match="structure"):
        P.fit(lambda tc: "[1]" if tc.heads == 4 else "[1, 2]", SPACE, BASE, "image")
    with pytest.raises(P.FitError, match="leading zeros"):
        P.fit(lambda tc: f"[0.{tc.width:03d}]", SPACE, BASE, "image")


def test_slots_never_fall_to_values_the_fit_never_saw():
    tpl = P.fit(lambda tc: f"[{tc.width - 30}]", SPACE, BASE, "image")   # 34 at base, 2 at the low end
    assert tpl.text(TowerConfig(layers=2, heads=2, ffn=128, width=32)) == "[2]"
    tpl.space = SPACE.model_copy(update={"width": Range(lo=24, hi=64, step=8)})
    with pytest.raises(ConfigError, match="parametric range"):
        tpl.text(TowerConfig(layers=2, heads=2, ffn=128, width=24))       # -6 would change the text's shape


# -- three open_clip ViT architectures --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["ViT-B-16", "ViT-B-32", "ViT-S-16"])
def test_open_clip_architectures_instantiate_exactly(name, tmp_path_factory, fresh_memory):
    from frontend.openclip import create_model
    m = create_model(name)
    arch = Arch.of(m, name)
    cache = tmp_path_factory.mktemp(f"lowering-{name}")
    hw = backend.edge_hardware(cores=2, pe_rows=64, pe_cols=16, local_buffer_kb=128, local_bw_words_per_cycle=64,
                               global_buffer_mb=4)
    for i, cfg in enumerate(random_configs(arch, 2, seed=11)):
        for part in ("image", "text"):
            g = lower_tower(m, cfg, part, name=name, cache_dir=cache)          # fused (the default)
            _CACHE.clear()
            fresh = ir.fuse(lower_fresh(m, cfg, part, name=name, fuse=False))   # fused after the whole lowering
            assert g == fresh
            assert sum(o.kind == ir.OpKind.ATTENTION for o in g.ops) == 1      # one fused attention per layer
            assert ir.totals(g).macs == (vision_macs if part == "image" else text_macs)(arch, cfg)
            if i == 0:
                for attention in ("fused", "unfused"):
                    a, b = backend.estimate(g, hw, attention=attention), backend.estimate(fresh, hw,
                                                                                       attention=attention)
                    assert (a.latency_s, a.energy_j) == (b.latency_s, b.energy_j)
    assert P.template(m, "image", name=name, cache_dir=cache) is not None
