"""The built-in benchmark trains from scratch far above chance, is cached, and loses accuracy when pruned."""

import time

import pytest
import torch

from frontend.clip import Arch
from frontend.evaluate import evaluate
from frontend.proxy import bench, data


def test_splits_are_deterministic_and_hold_out_pairs():
    a, b = data.make_split("calib", 64), data.make_split("calib", 64)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    train = data.make_split("train", 400)
    assert not any(data.CLASSES[int(c)] in data.HELD_OUT for c in train.labels)
    test = bench.split("test", bench.TEST_N)
    assert any(data.CLASSES[int(c)] in data.HELD_OUT for c in test.labels)
    assert not torch.equal(train.images[:64], a.images)


@pytest.mark.slow
def test_train_far_above_chance_cached_and_pruning_costs(tmp_path):
    steps = 60
    torch.set_num_threads(2)
    m = bench.train(steps, tmp_path)
    s = bench.score(m)
    ch = bench.chance()
    assert s["zero_shot_acc"] > 3 * ch["zero_shot_acc"] and s["r1"] > 10 * ch["r1"]
    t0 = time.perf_counter()
    again = bench.train(steps, tmp_path)                       # from the cache, no training
    assert time.perf_counter() - t0 < 5
    assert all(torch.equal(x, y) for x, y in zip(m.state_dict().values(), again.state_dict().values()))
    space = Arch.of(m).space()
    full = evaluate(space.full(), "proxy", 0, tmp_path, steps)
    small = evaluate(space.smallest(), "proxy", 0, tmp_path, steps)
    assert full["r1"] == pytest.approx(s["r1"])                 # full configuration: unchanged model
    assert small["r1"] < full["r1"] and small["zero_shot_acc"] < full["zero_shot_acc"]
