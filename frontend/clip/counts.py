"""Closed-form parameter and MAC counts of a (pruned) CLIP, the independent reference for pruning and lowering."""

from __future__ import annotations

from .arch import Arch
from .config import CLIPConfig, TowerConfig


def _layer_params(c: TowerConfig, head_dim: int) -> int:
    inner = c.heads * head_dim
    attn = 3 * inner * c.width + 3 * inner + inner * c.width + c.width
    mlp = c.width * c.ffn + c.ffn + c.ffn * c.width + c.width
    return attn + mlp + 4 * c.width  # two LayerNorms


def vision_params(arch: Arch, config: CLIPConfig) -> int:
    c = config.vision
    tokens = (arch.image_size // arch.patch_size) ** 2 + 1
    embed = 3 * arch.patch_size ** 2 * c.width + c.width + tokens * c.width  # conv (no bias), class, position
    return embed + 2 * c.width + c.layers * _layer_params(c, arch.vision_head_dim) + 2 * c.width \
        + c.width * arch.embed_dim


def text_params(arch: Arch, config: CLIPConfig) -> int:
    c = config.text
    embed = arch.vocab_size * c.width + arch.context_length * c.width
    return embed + c.layers * _layer_params(c, arch.text_head_dim) + 2 * c.width + c.width * arch.embed_dim


def params(arch: Arch, config: CLIPConfig) -> int:
    """All parameters, including the logit scale."""
    return vision_params(arch, config) + text_params(arch, config) + 1


def _layer_macs(c: TowerConfig, head_dim: int, tokens: int) -> int:
    inner = c.heads * head_dim
    return tokens * (3 * c.width * inner + inner * c.width + 2 * c.width * c.ffn) + 2 * tokens * tokens * inner


def vision_macs(arch: Arch, config: CLIPConfig) -> int:
    """Multiply-accumulates of one image through the vision tower (patch conv, layers, projection)."""
    c = config.vision
    patches = (arch.image_size // arch.patch_size) ** 2
    return patches * 3 * arch.patch_size ** 2 * c.width + c.layers * _layer_macs(c, arch.vision_head_dim, patches + 1) \
        + c.width * arch.embed_dim


def text_macs(arch: Arch, config: CLIPConfig) -> int:
    """Multiply-accumulates of one full-length text through the text tower (layers, projection)."""
    c = config.text
    return c.layers * _layer_macs(c, arch.text_head_dim, arch.context_length) + c.width * arch.embed_dim


def macs(arch: Arch, config: CLIPConfig) -> int:
    return vision_macs(arch, config) + text_macs(arch, config)
