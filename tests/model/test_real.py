"""Real evaluators on small generated stand-ins whose right answers are known, and their clear errors.

The stand-ins are drawn by the proxy's renderer; an oracle CLIP (a fixed function, no training) reads each image's
colour and half from its pixels and each caption's colour and side from its words, so it scores exactly 1.0 when the
evaluators pair images with the right class and the right captions; any class-order or caption-alignment fault
makes it fail."""

import csv
import random

import numpy as np
import pytest
import torch
from PIL import Image

from frontend.clip import Arch, CheckpointError, ConfigError, DatasetError, Ranking, prune
from frontend.evaluate import CSVRetrieval, ImageFolderZeroShot, evaluate, load_checkpoint
from frontend.proxy import data, model

# (ImageNet-style folder id, colour, shape); the folder ids sort in another order than the class names do
CLASSES = [("n07", "yellow", "cross"), ("n02", "red", "circle"), ("n05", "white", "square"),
           ("n01", "blue", "triangle"), ("n09", "magenta", "circle"), ("n03", "green", "square")]
COLOURS = list(data.COLOURS)
SIDES = ("left", "right")


class OracleCLIP(torch.nn.Module):
    """Embeds an image as its pixel counts per (palette colour, image half) and a caption as the one-hot of its
    (colour word, side word): an image and a caption agree exactly when they show and say the same colour on the
    same side. Inputs are the proxy's normalised pixels and word tokens."""

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        pix = (images * data.STD + data.MEAN) * 255                                     # (N, 3, H, W)
        palette = torch.tensor([data.COLOURS[c] for c in COLOURS], dtype=pix.dtype)     # (K, 3)
        near = ((pix[:, None] - palette[None, :, :, None, None]).abs().amax(2) <= 30)  # (N, K, H, W), jitter <= 20
        half = pix.shape[-1] // 2
        feats = torch.stack([near[..., :half].sum((-1, -2)), near[..., half:].sum((-1, -2))], -1).flatten(1).float()
        return torch.nn.functional.normalize(feats, dim=-1) if normalize else feats

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        ids = {w: i + 1 for i, w in enumerate(data.WORDS)}
        feats = torch.zeros(len(tokens), 2 * len(COLOURS))
        for r, row in enumerate(tokens.tolist()):
            colour = next(k for k, c in enumerate(COLOURS) if ids[c] in row)
            side = next(h for h, s in enumerate(SIDES) if ids[s] in row)
            feats[r, 2 * colour + side] = 1.0
        return feats


def _png(path, colour, shape, side, seed, count="one", size="large"):
    img = data.render(np.random.default_rng(seed), colour, shape, size, count, side)
    Image.fromarray(img.transpose(1, 2, 0)).save(path)


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """``by_id/<wnid>/`` and ``by_name/<colour>_<shape>/``: 5 images per class, all on the left (folders made in
    CLASSES order, which is neither sorted order); ``coco_like.csv``: 16 images, one per (colour, side), two
    captions each, rows shuffled and image files named in shuffled order."""
    root = tmp_path_factory.mktemp("real")
    for c, (wnid, colour, shape) in enumerate(CLASSES):
        for layout, name in (("by_id", wnid), ("by_name", f"{colour}_{shape}")):
            d = root / layout / name
            d.mkdir(parents=True)
            for i in range(5):
                _png(d / f"{i}.png", colour, shape, "left", 10 * c + i, count=("one", "two")[i % 2],
                     size=("large", "small")[i % 2])
    (root / "images").mkdir()
    order = list(range(2 * len(COLOURS)))
    random.Random(4).shuffle(order)
    rows = []
    for j, (colour, side) in enumerate((c, s) for c in COLOURS for s in SIDES):
        shape = data.SHAPES[j % len(data.SHAPES)]
        name = f"images/{order[j]:02d}.png"
        _png(root / name, colour, shape, side, 100 + j)
        rows += [{"filepath": name, "title": data.caption("one", "large", colour, shape, side)},
                 {"filepath": name, "title": f"{colour} {shape} on the {side}"}]
    random.Random(5).shuffle(rows)
    with open(root / "coco_like.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["filepath", "title"])
        w.writeheader()
        w.writerows(rows)
    return root


def _transform(im):
    x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float()
    return (x / 255 - data.MEAN) / data.STD


def _by_id_names():
    return [f"{colour} {shape}" for _, colour, shape in sorted(CLASSES)]        # one per sorted folder


def test_image_folder_zero_shot_finds_every_class(stand_ins):
    oracle = OracleCLIP()
    by_id = ImageFolderZeroShot(stand_ins / "by_id", data.tokenize, _transform, classnames=_by_id_names(),
                                templates=("one large {} on the left",))
    assert len(by_id._split(True)) == 6 and len(by_id._split(False)) == 24   # calibration disjoint from evaluation
    assert by_id.score(oracle) == {"zero_shot_acc": 1.0, "accuracy": 1.0, "n_images": 24.0}
    by_name = ImageFolderZeroShot(stand_ins / "by_name", data.tokenize, _transform,
                                  templates=("one large {} on the left", "one small {} on the left"))
    assert by_name.classnames == sorted(f"{c} {s}" for _, c, s in CLASSES)   # sorted folder names, "_" -> " "
    assert by_name.score(oracle)["zero_shot_acc"] == 1.0
    # control: class names in another order than the folders' (the fault the check exists for) score 0
    wrong = ImageFolderZeroShot(stand_ins / "by_id", data.tokenize, _transform, classnames=_by_id_names()[::-1],
                                templates=("one large {} on the left",))
    assert wrong.score(oracle)["zero_shot_acc"] == 0.0


def test_csv_retrieval_pairs_every_caption_with_its_image(stand_ins):
    oracle = OracleCLIP()
    ev = CSVRetrieval(stand_ins / "coco_like.csv", data.tokenize, _transform, calib_batch=4)
    assert len(ev.images) == 16 and len(ev._split(False)) == 24              # 12 evaluated images x 2 captions
    out = ev.score(oracle)
    assert out["n_images"] == 12.0
    assert {k: out[k] for k in ("i2t_r1", "t2i_r1", "r1", "r5", "accuracy")} == dict.fromkeys(
        ("i2t_r1", "t2i_r1", "r1", "r5", "accuracy"), 1.0)
    # control: the same captions attached to the wrong images (rotated by one) cannot be retrieved at rank 1
    rows = list(csv.DictReader(open(stand_ins / "coco_like.csv")))
    paths = sorted({r["filepath"] for r in rows})
    moved = stand_ins / "moved.csv"
    with open(moved, "w", newline="") as f:
        w = csv.DictWriter(f, ["filepath", "title"])
        w.writeheader()
        w.writerows({"filepath": paths[(paths.index(r["filepath"]) + 1) % 16], "title": r["title"]} for r in rows)
    assert CSVRetrieval(moved, data.tokenize, _transform).score(oracle)["r1"] == 0.0


def test_evaluate_with_a_real_evaluator_scores_the_pruned_base(stand_ins, tmp_path):
    ev = CSVRetrieval(stand_ins / "coco_like.csv", data.tokenize, _transform, calib_batch=4)
    m = model.build()
    arch = Arch.of(m)
    full = evaluate(arch.config(), ev, budget=0, cache_dir=tmp_path, base=m)
    direct = ev.score(m)                                      # pruning to the full configuration changes nothing
    assert {k: full[k] for k in direct} == pytest.approx(direct, abs=1e-6)
    small = arch.space().smallest()
    res = evaluate(small, ev, budget=0, cache_dir=tmp_path, base=m)
    (ranking,) = (tmp_path / "rankings").glob("*.json")       # ranked on the evaluator's calibration items
    assert res["r1"] == pytest.approx(ev.score(prune(m, small, Ranking.load(ranking)))["r1"], abs=1e-6)
    assert res["config"] == small.knobs() and len(list((tmp_path / "accuracy").glob("*.json"))) == 2
    assert evaluate(small, ev, budget=0, cache_dir=tmp_path, base=m) == res          # cached


def test_dataset_errors(stand_ins, tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        ImageFolderZeroShot(tmp_path / "missing", data.tokenize)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="class list is empty"):
        ImageFolderZeroShot(tmp_path / "empty", data.tokenize)
    with pytest.raises(DatasetError, match="3 class names for 6 class folders"):
        ImageFolderZeroShot(stand_ins / "by_id", data.tokenize, classnames=["a", "b", "c"])
    with pytest.raises(DatasetError, match="missing.csv: no such retrieval CSV"):
        CSVRetrieval(tmp_path / "missing.csv", data.tokenize)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,caption\nx.png,hello\n")
    with pytest.raises(DatasetError, match="needs columns 'filepath' and 'title'"):
        CSVRetrieval(bad, data.tokenize)


def test_checkpoint_errors(tmp_path, make_tiny):
    m = model.build()
    good = tmp_path / "good.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in m.state_dict().items()}}, good)
    fresh = model.build(seed=1)
    load_checkpoint(fresh, good)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), m.state_dict().values()))
    other = tmp_path / "other.pt"
    torch.save(make_tiny().state_dict(), other)
    with pytest.raises(CheckpointError, match="does not match the architecture.*shape mismatches"):
        load_checkpoint(fresh, other)
    with pytest.raises(CheckpointError, match="nope.pt: no such checkpoint"):
        load_checkpoint(fresh, tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(fresh, tmp_path / "junk.pt")


def test_evaluate_rejects_configuration_outside_space(tmp_path):
    bad = {"text_layers": 40, "text_heads": 4, "text_ffn": 256, "text_width": 64,
           "vision_layers": 4, "vision_heads": 4, "vision_ffn": 256, "vision_width": 64}
    with pytest.raises(ConfigError, match="text.layers = 40 is outside"):
        evaluate(bad, "proxy", cache_dir=tmp_path, steps=1)
    with pytest.raises(ConfigError, match="evaluator 'imagenet'"):
        evaluate(bad, "imagenet", cache_dir=tmp_path)
