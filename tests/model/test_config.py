"""Configurations and their legal space: the paper's table, knob dicts, clear errors, mapping across spaces."""

import pytest

from frontend.clip import CLIPConfig, ConfigError, TowerConfig, default_space
from frontend.evaluate.api import VIT_B16_SPACE, map_config

B16 = default_space(TowerConfig(layers=12, heads=8, ffn=2048, width=512),
                    TowerConfig(layers=12, heads=12, ffn=3072, width=768))


def test_vit_b16_space_is_the_papers_table():
    # BRIEF.md section 1, "Search space" (CATransformers, arXiv 2505.01386)
    k = B16.knob_values()
    assert k["text_layers"] == list(range(6, 13)) and k["vision_layers"] == list(range(6, 13))
    assert k["text_ffn"] == list(range(1024, 2049, 256)) and k["vision_ffn"] == list(range(1536, 3073, 384))
    assert k["text_width"] == list(range(256, 513, 64)) and k["vision_width"] == list(range(384, 769, 96))
    assert k["text_heads"] == list(range(4, 9)) and k["vision_heads"] == list(range(6, 13))


def test_carbonclip_configs_are_legal():
    # CarbonCLIP-S and -M from the paper's table: towers {layers, FFN, hidden, heads}
    for t, v in (((6, 1024, 512, 6), (8, 1920, 672, 6)), ((8, 1536, 512, 6), (9, 2304, 672, 6))):
        cfg = CLIPConfig(text=dict(zip(("layers", "ffn", "width", "heads"), t)),
                         vision=dict(zip(("layers", "ffn", "width", "heads"), v)))
        assert B16.validate_config(cfg) is cfg


def test_knob_round_trip_and_errors():
    cfg = B16.smallest()
    assert CLIPConfig.from_knobs(cfg.knobs()) == cfg
    with pytest.raises(ConfigError, match="vision_hedas"):
        CLIPConfig.from_knobs({**cfg.knobs(), "vision_hedas": 3})
    with pytest.raises(ConfigError, match="missing keys \\['text_ffn'\\]"):
        CLIPConfig.from_knobs({k: v for k, v in cfg.knobs().items() if k != "text_ffn"})
    with pytest.raises(ConfigError, match="text.layers"):
        CLIPConfig.parse({"text": {"layers": "many", "heads": 4, "ffn": 1024, "width": 256},
                          "vision": cfg.vision.model_dump()})


@pytest.mark.parametrize("field,value", [("text.ffn", 1100), ("vision.heads", 13), ("vision.layers", 5),
                                         ("text.width", 576)])
def test_outside_space_names_field_and_allowed(field, value):
    t, k = field.split(".")
    full = B16.full()
    bad = full.model_copy(update={t: getattr(full, t).model_copy(update={k: value})})
    with pytest.raises(ConfigError, match=f"{t}\\.{k} = {value} is outside.*allowed values"):
        B16.validate_config(bad)


def test_map_config_keeps_ends_and_order():
    small = default_space(TowerConfig(layers=4, heads=4, ffn=256, width=64),
                          TowerConfig(layers=4, heads=4, ffn=256, width=64))
    assert map_config(VIT_B16_SPACE.full(), VIT_B16_SPACE, small) == small.full()
    assert map_config(VIT_B16_SPACE.smallest(), VIT_B16_SPACE, small) == small.smallest()
    mid = VIT_B16_SPACE.full().model_copy(update={"vision": TowerConfig(layers=9, heads=9, ffn=2304, width=576)})
    m = map_config(mid, VIT_B16_SPACE, small)
    assert m.vision == TowerConfig(layers=3, heads=3, ffn=192, width=48)   # the middle maps to the middle
    assert m.text == small.full().text
