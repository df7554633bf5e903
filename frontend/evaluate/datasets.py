"""Real evaluation data in the formats users keep: an image folder per class (ImageNet) and a CSV of image paths
and captions (MSCOCO / open_clip's CSV format)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from frontend.clip.errors import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
PATH_COLUMNS = ("filepath", "image", "path", "file_name", "filename")
CAPTION_COLUMNS = ("caption", "title", "text")


@dataclass
class ImageFolder:
    """``root/<class folder>/<image>``; class names from ``classnames`` (one per line, in sorted folder order)
    or from the folder names with underscores as spaces."""

    paths: list[Path]
    labels: list[int]
    classnames: list[str]


def image_folder(root: str | Path, classnames: str | Path | list[str] | None = None) -> ImageFolder:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: image-folder dataset not found (expected a folder with one sub-folder per class)")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise DatasetError(f"{root}: no class sub-folders; expected {root}/<class>/<image>.png")
    if classnames is None:
        names = [f.name.replace("_", " ") for f in folders]
    elif isinstance(classnames, (str, Path)):
        path = Path(classnames)
        if not path.is_file():
            raise DatasetError(f"{path}: class-name file not found")
        names = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    else:
        names = [str(n) for n in classnames]
    if not names:
        raise DatasetError(f"{root}: the class list is empty; give one name per class folder")
    if len(names) != len(folders):
        raise DatasetError(f"{root}: {len(folders)} class folders but {len(names)} class names")
    paths, labels = [], []
    for i, f in enumerate(folders):
        imgs = sorted(p for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not imgs:
            raise DatasetError(f"{f}: class folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        paths += imgs
        labels += [i] * len(imgs)
    return ImageFolder(paths, labels, names)


@dataclass
class CaptionSet:
    """Distinct images, all captions, and which image each caption describes (several captions per image)."""

    images: list[Path]
    captions: list[str]
    owner: list[int]


def caption_csv(path: str | Path) -> CaptionSet:
    """Read a CSV/TSV with an image-path column (``filepath``/``image``/...) and a caption column
    (``caption``/``title``/``text``); relative paths are relative to the CSV's folder."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: caption CSV not found")
    text = path.read_text()
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    cols = rows[0].keys() if rows else []
    pcol = next((c for c in PATH_COLUMNS if c in cols), None)
    ccol = next((c for c in CAPTION_COLUMNS if c in cols), None)
    if not rows or pcol is None or ccol is None:
        raise DatasetError(f"{path}: needs a header with an image column ({'/'.join(PATH_COLUMNS)}) and a caption "
                           f"column ({'/'.join(CAPTION_COLUMNS)}) and at least one row; found columns {list(cols)}")
    images: list[Path] = []
    index: dict[Path, int] = {}
    captions, owner = [], []
    for n, r in enumerate(rows, start=2):
        p = Path(r[pcol])
        p = p if p.is_absolute() else path.parent / p
        if not p.is_file():
            raise DatasetError(f"{path}: line {n}: image {p} not found")
        if p not in index:
            index[p] = len(images)
            images.append(p)
        captions.append(r[ccol])
        owner.append(index[p])
    return CaptionSet(images, captions, owner)
