"""The built-in benchmark's data: procedurally drawn scenes of coloured shapes with captions, fully offline.

A scene holds one or two copies of one shape, in one colour and size, in the left or right half of the image;
its caption says so ("two large red circles on the right"). Four colour-shape pairs never appear in the
training or calibration splits and do appear in the test split, so zero-shot accuracy includes unseen
compositions. Splits come from disjoint seeds: train (fitting, recovery), calib (importance ranking), test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

COLOURS = {
    "red": (225, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 240), "yellow": (235, 220, 40),
    "magenta": (215, 50, 215), "cyan": (40, 215, 215), "white": (235, 235, 235), "orange": (245, 135, 25),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = {"small": 4, "large": 7}
COUNTS = ("one", "two")
POSITIONS = ("left", "right")
def plural(shape: str) -> str:
    return shape + ("es" if shape.endswith("s") else "s")


HELD_OUT = (("red", "triangle"), ("green", "cross"), ("blue", "circle"), ("yellow", "square"))
WORDS = ("on", "the", *COUNTS, *SIZES, *COLOURS, *SHAPES, *(plural(s) for s in SHAPES), *POSITIONS)
PAD, EOT = 0, len(WORDS) + 1          # EOT is the largest id: open_clip's text tower pools at argmax(token)
VOCAB_SIZE = len(WORDS) + 2
CONTEXT_LENGTH = 10
SPLIT_SEEDS = {"train": 1, "calib": 2, "test": 3}
MEAN, STD = 0.3, 0.3

CLASSES = [(c, s) for c in COLOURS for s in SHAPES]          # zero-shot classes: colour x shape


def class_name(c: int) -> str:
    return " ".join(CLASSES[c])


def caption(count: str, size: str, colour: str, shape: str, position: str) -> str:
    return f"{count} {size} {colour} {plural(shape) if count == 'two' else shape} on the {position}"


def class_prompts(c: int) -> list[str]:
    """Prompt ensemble for zero-shot class c: every caption of that colour and shape."""
    colour, shape = CLASSES[c]
    return [caption(n, z, colour, shape, p) for n in COUNTS for z in SIZES for p in POSITIONS]


def tokenize(texts: list[str] | str) -> torch.Tensor:
    """Word-level tokens, EOT-terminated, zero-padded to CONTEXT_LENGTH."""
    texts = [texts] if isinstance(texts, str) else texts
    ids = {w: i + 1 for i, w in enumerate(WORDS)}
    out = torch.zeros(len(texts), CONTEXT_LENGTH, dtype=torch.long)
    for r, t in enumerate(texts):
        toks = [ids[w] for w in t.split()] + [EOT]
        out[r, :len(toks)] = torch.tensor(toks[:CONTEXT_LENGTH])
    return out


@dataclass
class Split:
    images: torch.Tensor       # uint8 (N, 3, S, S)
    captions: list[str]
    labels: torch.Tensor       # zero-shot class (colour x shape) per image

    def __len__(self) -> int:
        return len(self.captions)

    def pixels(self, idx: slice | torch.Tensor = slice(None)) -> torch.Tensor:
        """Normalised float images."""
        return (self.images[idx].float() / 255 - MEAN) / STD


def _mask(shape: str, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    dx, dy = np.abs(xx - cx), np.abs(yy - cy)
    if shape == "circle":
        return dx ** 2 + dy ** 2 <= r ** 2
    if shape == "square":
        return (dx <= 0.8 * r) & (dy <= 0.8 * r)
    if shape == "triangle":
        top = cy - r
        return (yy >= top) & (yy <= cy + 0.8 * r) & (dx <= 0.6 * (yy - top))
    return ((dx <= max(1.0, r / 3)) & (dy <= r)) | ((dy <= max(1.0, r / 3)) & (dx <= r))


def render(rng: np.random.Generator, colour: str, shape: str, size: str, count: str, position: str,
           image_size: int = 32) -> np.ndarray:
    S = image_size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    img = rng.integers(0, 50, size=(S, S, 3)).astype(np.float32)
    r = SIZES[size] * S / 32
    x0 = 0 if position == "left" else S / 2
    rows = [(0, S)] if count == "one" else [(0, S / 2), (S / 2, S)]
    for y_lo, y_hi in rows:
        cx = rng.uniform(x0 + r, x0 + S / 2 - r)
        cy = rng.uniform(y_lo + r, y_hi - r)
        rgb = np.clip(np.array(COLOURS[colour]) + rng.integers(-20, 21, size=3), 0, 255)
        img[_mask(shape, xx, yy, cx, cy, r)] = rgb
    return img.astype(np.uint8).transpose(2, 0, 1)


def make_split(split: str, n: int, image_size: int = 32) -> Split:
    """Deterministic split of n scenes; train and calib exclude HELD_OUT colour-shape pairs."""
    rng = np.random.default_rng(1000 + SPLIT_SEEDS[split])
    allowed = [i for i, cs in enumerate(CLASSES) if split == "test" or cs not in HELD_OUT]
    images = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
    caps, labels = [], []
    for i in range(n):
        c = allowed[rng.integers(len(allowed))]
        colour, shape = CLASSES[c]
        count, size, pos = COUNTS[rng.integers(2)], list(SIZES)[rng.integers(2)], POSITIONS[rng.integers(2)]
        images[i] = render(rng, colour, shape, size, count, pos, image_size)
        caps.append(caption(count, size, colour, shape, pos))
        labels.append(c)
    return Split(torch.from_numpy(images), caps, torch.tensor(labels))
