"""Real evaluators on small generated stand-ins (image folder, caption CSV, checkpoint) and their clear errors."""

import csv

import pytest
import torch
from PIL import Image

from frontend.clip import Arch, CheckpointError, ConfigError, DatasetError
from frontend.evaluate import CSVRetrieval, ImageFolderZeroShot, evaluate, load_checkpoint
from frontend.proxy import data, model

CLASSES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("white", "cross")]


def _png(path, colour, shape, seed):
    import numpy as np
    img = data.render(np.random.default_rng(seed), colour, shape, "large", "one", "left")
    Image.fromarray(img.transpose(1, 2, 0)).save(path)


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    folder = root / "imagenet_like"
    rows = []
    for c, (colour, shape) in enumerate(CLASSES):
        d = folder / f"{colour}_{shape}"
        d.mkdir(parents=True)
        for i in range(5):
            _png(d / f"{i}.png", colour, shape, 10 * c + i)
            rows.append({"filepath": f"imagenet_like/{colour}_{shape}/{i}.png",
                         "title": data.caption("one", "large", colour, shape, "left")})
    with open(root / "coco_like.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["filepath", "title"])
        w.writeheader()
        w.writerows(rows)
    return root


def _transform(im):
    x = torch.from_numpy(__import__("numpy").asarray(im).copy()).permute(2, 0, 1).float()
    return (x / 255 - data.MEAN) / data.STD


def test_image_folder_zero_shot_runs(stand_ins):
    ev = ImageFolderZeroShot(stand_ins / "imagenet_like", data.tokenize, _transform,
                             templates=("one large {} on the left",))
    assert ev.classnames == sorted(f"{c} {s}" for c, s in CLASSES)   # sorted folder names, "_" -> " "
    assert len(ev._split(True)) == 4 and len(ev._split(False)) == 16     # calibration disjoint from evaluation
    out = ev.score(model.build())
    assert 0.0 <= out["zero_shot_acc"] <= 1.0 and out["n_images"] == 16


def test_csv_retrieval_and_evaluate_end_to_end(stand_ins, tmp_path):
    ev = CSVRetrieval(stand_ins / "coco_like.csv", data.tokenize, _transform, calib_batch=4)
    m = model.build()
    out = ev.score(m)
    assert {"r1", "r5", "i2t_r1", "t2i_r1"} <= set(out) and out["n_images"] == 16
    arch = Arch.of(m)
    small = arch.space().smallest()
    res = evaluate(small, ev, budget=0, cache_dir=tmp_path, base=m)
    assert res["config"] == small.knobs() and 0 <= res["accuracy"] <= 1
    assert len(list((tmp_path / "accuracy").glob("*.json"))) == 1
    assert evaluate(small, ev, budget=0, cache_dir=tmp_path, base=m) == res          # cached


def test_dataset_errors(stand_ins, tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        ImageFolderZeroShot(tmp_path / "missing", data.tokenize)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="class list is empty"):
        ImageFolderZeroShot(tmp_path / "empty", data.tokenize)
    with pytest.raises(DatasetError, match="3 class names for 4 class folders"):
        ImageFolderZeroShot(stand_ins / "imagenet_like", data.tokenize, classnames=["a", "b", "c"])
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
