"""Real evaluators: open_clip weights from a checkpoint, zero-shot on an image folder, retrieval on a CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import torch

from frontend.clip.errors import CheckpointError, DatasetError
from ir.files import check_file, read_text

from .metrics import encode, retrieval_recall, zero_shot_accuracy

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
CALIB_EVERY = 5             # every 5th item is calibration data (ranking, recovery), the rest is evaluated


def load_open_clip(arch: str, checkpoint: str | Path | None = None, pretrained: str | None = None) -> Any:
    """An open_clip model of ``arch`` with weights from a local checkpoint file or a pretrained tag (online)."""
    import open_clip
    try:
        model = open_clip.create_model(arch, pretrained=pretrained)
    except RuntimeError as e:
        raise CheckpointError(f"open_clip {arch} pretrained={pretrained!r}: {e}") from None
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    model.catx_name = f"{arch}:{Path(checkpoint).name if checkpoint else pretrained}"
    return model.eval()


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> None:
    """Load a state dict (or {'state_dict': ...}) into ``model``; CheckpointError naming what does not match."""
    p = check_file(path, "checkpoint", CheckpointError)
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for unreadable files
        raise CheckpointError(f"checkpoint {p}: cannot be read ({type(e).__name__})") from None
    sd = sd.get("state_dict", sd) if isinstance(sd, dict) else sd
    if not isinstance(sd, dict):
        raise CheckpointError(f"checkpoint {p}: holds {type(sd).__name__}, expected a state dict")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or extra or shapes:
        raise CheckpointError(f"checkpoint {p} does not match the architecture: {len(missing)} missing keys "
                              f"{missing[:3]}, {len(extra)} unexpected keys {extra[:3]}, {len(shapes)} shape "
                              f"mismatches {shapes[:3]}")
    model.load_state_dict(sd)


def _default_transform(model: Any) -> Callable:
    import open_clip
    return open_clip.image_transform(model.visual.image_size, is_train=False)


def _load_images(paths: list[Path], transform: Callable) -> torch.Tensor:
    from PIL import Image
    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                out.append(transform(im.convert("RGB")))
        except (OSError, Image.DecompressionBombError) as e:
            raise DatasetError(f"image {p}: cannot be read ({e})") from None
    return torch.stack(out)


class ImageFolderZeroShot:
    """Zero-shot classification on ``root/<class>/<image>`` (ImageNet's layout). Class names are the folder
    names, or lines of ``classnames`` (one per sorted folder); prompts from ``templates``."""

    def __init__(self, root: str | Path, tokenizer: Callable, transform: Callable | None = None,
                 classnames: list[str] | None = None, templates: tuple[str, ...] = ("a photo of a {}.",),
                 calib_batch: int = 32):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"image-folder dataset {self.root}: no such folder")
        folders = sorted(d for d in self.root.iterdir() if d.is_dir())
        if not folders:
            raise DatasetError(f"image-folder dataset {self.root}: no class folders (the class list is empty)")
        if classnames is not None and len(classnames) != len(folders):
            raise DatasetError(f"image-folder dataset {self.root}: {len(classnames)} class names for "
                               f"{len(folders)} class folders")
        self.classnames = classnames or [d.name.replace("_", " ") for d in folders]
        self.items = [(f, c) for c, d in enumerate(folders) for f in sorted(d.iterdir())
                      if f.suffix.lower() in IMAGE_EXTS]
        if not self.items:
            raise DatasetError(f"image-folder dataset {self.root}: class folders hold no images {IMAGE_EXTS}")
        self.tokenizer, self.transform, self.templates, self.calib_batch = tokenizer, transform, templates, calib_batch

    def key(self) -> list:
        return ["imagefolder", str(self.root.resolve()), len(self.items), self.classnames, list(self.templates)]

    def _split(self, calib: bool) -> list[tuple[Path, int]]:
        return [x for i, x in enumerate(self.items) if (i % CALIB_EVERY == 0) == calib]

    def calibration_batches(self) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
        items = self._split(True)
        tf = self.transform

        def get(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            chunk = [items[(step * self.calib_batch + j) % len(items)] for j in range(self.calib_batch)]
            imgs = _load_images([p for p, _ in chunk], tf)
            return imgs, self.tokenizer([self.templates[0].format(self.classnames[c]) for _, c in chunk])
        return get

    @torch.no_grad()
    def score(self, model: torch.nn.Module) -> dict[str, float]:
        self.transform = self.transform or _default_transform(model)
        items = self._split(False) or self.items
        img = encode(model, images=_load_images([p for p, _ in items], self.transform))
        cls = torch.stack([torch.nn.functional.normalize(
            encode(model, tokens=self.tokenizer([t.format(n) for t in self.templates])).mean(0), dim=0)
            for n in self.classnames])
        labels = torch.tensor([c for _, c in items])
        acc = zero_shot_accuracy(img, cls, labels)
        return {"zero_shot_acc": acc, "accuracy": acc, "n_images": float(len(items))}


class CSVRetrieval:
    """Image-text retrieval on a CSV of image paths and captions (open_clip's training-CSV layout; MSCOCO's
    five captions per image are five rows). Paths are relative to the CSV's folder."""

    def __init__(self, path: str | Path, tokenizer: Callable, transform: Callable | None = None,
                 img_key: str = "filepath", caption_key: str = "title", calib_batch: int = 32):
        self.path = Path(path)
        text = read_text(self.path, "retrieval CSV", DatasetError)
        lines = text.splitlines()
        dialect = "excel-tab" if lines and "\t" in lines[0] else "excel"
        try:
            rows = list(csv.DictReader(lines, dialect=dialect))
        except csv.Error as e:
            raise DatasetError(f"retrieval CSV {self.path}: not a readable CSV file ({e})") from None
        if not rows or img_key not in rows[0] or caption_key not in rows[0]:
            raise DatasetError(f"retrieval CSV {self.path}: needs columns {img_key!r} and {caption_key!r}, has "
                               f"{list(rows[0]) if rows else 'no rows'}")
        self.rows = [(self.path.parent / r[img_key], r[caption_key]) for r in rows]
        missing = [str(p) for p, _ in self.rows if not p.is_file()]
        if missing:
            raise DatasetError(f"retrieval CSV {self.path}: {len(missing)} images missing, e.g. {missing[0]}")
        self.images = sorted({p for p, _ in self.rows})
        self.tokenizer, self.transform, self.calib_batch = tokenizer, transform, calib_batch

    def key(self) -> list:
        return ["csv", str(self.path.resolve()), len(self.rows)]

    def _split(self, calib: bool) -> list[tuple[Path, str]]:
        keep = {p for i, p in enumerate(self.images) if (i % CALIB_EVERY == 0) == calib}
        return [r for r in self.rows if r[0] in keep]

    def calibration_batches(self) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
        rows = self._split(True)

        def get(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            chunk = [rows[(step * self.calib_batch + j) % len(rows)] for j in range(self.calib_batch)]
            return _load_images([p for p, _ in chunk], self.transform), self.tokenizer([c for _, c in chunk])
        return get

    @torch.no_grad()
    def score(self, model: torch.nn.Module) -> dict[str, float]:
        self.transform = self.transform or _default_transform(model)
        rows = self._split(False) or self.rows
        images = sorted({p for p, _ in rows})
        idx = {p: i for i, p in enumerate(images)}
        img = encode(model, images=_load_images(images, self.transform))
        txt = encode(model, tokens=self.tokenizer([c for _, c in rows]))
        match = torch.zeros(len(images), len(rows), dtype=torch.bool)
        match[torch.tensor([idx[p] for p, _ in rows]), torch.arange(len(rows))] = True
        out = retrieval_recall(img, txt, match)
        return {**out, "accuracy": out["r1"], "n_images": float(len(images))}
