"""The fixed facts of a base CLIP architecture (image, patch, context, vocabulary, head_dim) read from a model."""

from __future__ import annotations

from open_clip.model import CLIP
from open_clip.transformer import ResidualAttentionBlock, VisionTransformer
from pydantic import BaseModel, ConfigDict
from torch import nn

from .attention import HeadAttention
from .config import CLIPConfig, SearchSpace, TowerConfig, default_space
from .errors import PruneError


class Arch(BaseModel):
    """What pruning never changes, plus the base model's own tower shapes."""

    model_config = ConfigDict(frozen=True)
    name: str
    embed_dim: int
    image_size: int
    patch_size: int
    context_length: int
    vocab_size: int
    text_head_dim: int
    vision_head_dim: int
    text: TowerConfig
    vision: TowerConfig

    def config(self) -> CLIPConfig:
        """The configuration of the model this Arch was read from."""
        return CLIPConfig(text=self.text, vision=self.vision)

    def space(self) -> SearchSpace:
        return default_space(self.text, self.vision)

    @classmethod
    def of(cls, model: nn.Module, name: str = "") -> "Arch":
        """Read the architecture of an open_clip CLIP (plain or already pruned); PruneError if unsupported."""
        check_supported(model)
        v, t = model.visual, model.transformer
        ps = v.conv1.kernel_size
        isz = v.image_size
        vt, th = _tower(v.transformer, "vision"), _tower(t, "text")
        return cls(name=name or getattr(model, "catx_name", "clip"), embed_dim=v.proj.shape[1],
                   image_size=isz[0] if isinstance(isz, tuple) else isz, patch_size=ps[0],
                   context_length=model.positional_embedding.shape[0], vocab_size=model.token_embedding.num_embeddings,
                   text_head_dim=th[1], vision_head_dim=vt[1], text=th[0], vision=vt[0])


def _heads(attn: nn.Module) -> tuple[int, int]:
    if isinstance(attn, HeadAttention):
        return attn.heads, attn.head_dim
    return attn.num_heads, attn.head_dim


def _tower(tr: nn.Module, which: str) -> tuple[TowerConfig, int]:
    b = tr.resblocks[0]
    heads, hd = _heads(b.attn)
    for i, blk in enumerate(tr.resblocks):
        if _heads(blk.attn) != (heads, hd) or blk.mlp.c_fc.out_features != b.mlp.c_fc.out_features:
            raise PruneError(f"{which} tower: layer {i} differs from layer 0; only uniform towers are supported")
    return TowerConfig(layers=len(tr.resblocks), heads=heads, ffn=b.mlp.c_fc.out_features,
                       width=b.ln_1.normalized_shape[0]), hd


def check_supported(model: nn.Module) -> None:
    """Raise PruneError unless the model is an open_clip CLIP with ViT towers of standard residual blocks."""
    if not isinstance(model, CLIP):
        raise PruneError(f"expected an open_clip.model.CLIP, got {type(model).__name__}; "
                         "CustomTextCLIP, CoCa and timm/HF towers are not supported")
    v = model.visual
    if not isinstance(v, VisionTransformer):
        raise PruneError(f"vision tower is {type(v).__name__}; only open_clip VisionTransformer is supported")
    if getattr(v, "attn_pool", None) is not None or v.proj is None or model.text_projection is None:
        raise PruneError("vision attentional pooling and towers without projection are not supported")
    if not isinstance(model.text_projection, nn.Parameter):
        raise PruneError("text projection must be a plain matrix (proj_type 'linear' without bias)")
    for which, tr in (("vision", v.transformer), ("text", model.transformer)):
        if not tr.batch_first:
            raise PruneError(f"{which} tower: only batch_first transformers are supported")
        for i, blk in enumerate(tr.resblocks):
            if not isinstance(blk, ResidualAttentionBlock) or hasattr(blk, "ln_1_kv"):
                raise PruneError(f"{which} tower layer {i}: block {type(blk).__name__} is not a standard "
                                 "open_clip ResidualAttentionBlock")
