"""``openclip:<ARCH>``: CLIP towers built from open_clip's config with random weights (offline), as modules."""

from __future__ import annotations

from typing import Any

from .errors import ModelSpecError

TOWERS = ("image", "text", "both")
# module paths as in the whole CLIP model: the image tower is ``model.visual``; the text tower's wrapper holds the
# model as ``m`` (``frontend.sources.rerooted``)
SOURCE_ROOTS = {"image": ("", "visual"), "text": ("m", "")}


def create_model(arch: str, device: str = "cpu") -> Any:
    """An open_clip CLIP model of architecture ``arch`` with random weights; nothing is downloaded.
    ``device="meta"`` gives its shapes without weights (no memory)."""
    import logging

    import open_clip

    known = open_clip.list_models()
    if arch not in known:
        import difflib
        close = difflib.get_close_matches(arch, known, n=6, cutoff=0.5)
        raise ModelSpecError(f"openclip:{arch}: unknown open_clip architecture; closest: {close or known[:6]} "
                             f"({len(known)} known, see open_clip.list_models())")
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # "no pretrained weights" notice
    return open_clip.create_model(arch, pretrained=None, device=device).eval()


class TextTower:
    """Factory for a module whose forward is ``model.encode_text`` (tokens -> text embedding)."""

    def __new__(cls, model: Any) -> Any:
        import torch

        class _Text(torch.nn.Module):
            def __init__(self, m: Any):
                super().__init__()
                self.m = m

            def forward(self, tokens: Any) -> Any:
                return self.m.encode_text(tokens)

        return _Text(model).eval()


def tower_modules(model: Any, tower: str, batch: int = 1) -> dict[str, tuple[Any, tuple]]:
    """``{"image": (module, inputs), "text": (module, inputs)}`` for the requested tower(s)."""
    import torch

    if tower not in TOWERS:
        raise ModelSpecError(f"tower must be one of {TOWERS}, got {tower!r}")
    out = {}
    if tower in ("image", "both"):
        size = model.visual.image_size
        size = size if isinstance(size, (tuple, list)) else (size, size)
        out["image"] = (model.visual, (torch.randn(batch, 3, *size),))
    if tower in ("text", "both"):
        ctx = int(getattr(model, "context_length", 77))
        out["text"] = (TextTower(model), (torch.zeros(batch, ctx, dtype=torch.long),))
    return out
