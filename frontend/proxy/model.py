"""The built-in benchmark's CLIP: a small open_clip CLIP (same block structure as ViT-B) built from a config dict."""

from __future__ import annotations

import open_clip
import torch

from . import data

# open_clip CLIP(embed_dim, vision_cfg, text_cfg) arguments; head_dim 16 in both towers.
PROXY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 4, "head_width": 16, "mlp_ratio": 4.0},
    "text_cfg": {"context_length": data.CONTEXT_LENGTH, "vocab_size": data.VOCAB_SIZE, "width": 64, "heads": 4,
                 "layers": 4, "mlp_ratio": 4.0},
}
NAME = "proxy-clip"


def build(seed: int = 0) -> open_clip.model.CLIP:
    """The untrained proxy CLIP, deterministically initialised."""
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(PROXY_CFG["embed_dim"], open_clip.model.CLIPVisionCfg(**PROXY_CFG["vision_cfg"]),
                                 open_clip.model.CLIPTextCfg(**PROXY_CFG["text_cfg"]))
    model.catx_name = NAME
    return model
