"""Shared tiny CLIPs for the model-side tests."""

import open_clip
import pytest
import torch


def tiny_clip(seed: int = 0, text_width: int = 64, vision_width: int = 96) -> open_clip.model.CLIP:
    """A small random open_clip CLIP with ViT-B's block structure (head_dim 16 text, 32 vision)."""
    torch.manual_seed(seed)
    m = open_clip.model.CLIP(
        48,
        open_clip.model.CLIPVisionCfg(image_size=32, patch_size=8, width=vision_width, layers=4, head_width=16 * 2,
                                      mlp_ratio=4.0),
        open_clip.model.CLIPTextCfg(context_length=12, vocab_size=50, width=text_width, heads=4, layers=4,
                                    mlp_ratio=4.0))
    m.catx_name = f"tiny{seed}"
    return m.eval()


@pytest.fixture(scope="module")
def tiny() -> open_clip.model.CLIP:
    return tiny_clip()


@pytest.fixture(scope="module")
def make_tiny():
    return tiny_clip
