"""The built-in benchmark trains from scratch far above chance and is cached; pruning costs accuracy, recovery
restores it by a stated margin; Taylor head scores agree with exact ablation beyond what chance allows."""

import itertools
import shutil
from fractions import Fraction

import pytest
import torch

from frontend.clip import Arch, Ranking, prune
from frontend.clip.importance import compute_ranking
from frontend.clip.train import clip_loss
from frontend.evaluate import evaluate
from frontend.proxy import bench, data

STEPS = 60                     # a short base training (about 8 s on 2 cores): far above chance, far below converged
RECOVERY_BUDGET = 10           # evaluator "finetune": 10 x min(4, full/pruned MACs) distillation steps


def test_splits_are_deterministic_and_hold_out_pairs():
    a, b = data.make_split("calib", 64), data.make_split("calib", 64)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    train = data.make_split("train", 400)
    assert not any(data.CLASSES[int(c)] in data.HELD_OUT for c in train.labels)
    test = bench.split("test", bench.TEST_N)
    assert any(data.CLASSES[int(c)] in data.HELD_OUT for c in test.labels)
    assert not torch.equal(train.images[:64], a.images)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(cache folder, the base proxy CLIP trained for STEPS steps into it). One torch thread: under ``-n 2`` two
    workers share two cores, and more threads only spin against each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("proxy-cache")
    yield cache, bench.train(STEPS, cache)
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_train_far_above_chance_cached_and_pruning_costs(trained, monkeypatch):
    cache, m = trained
    s = bench.score(m)
    ch = bench.chance()
    assert s["zero_shot_acc"] > 3 * ch["zero_shot_acc"] and s["r1"] > 10 * ch["r1"]

    def no_training(*args, **kwargs):
        raise AssertionError("the cached checkpoint was not used: train() started training again")

    monkeypatch.setattr(bench, "fit", no_training)
    again = bench.train(STEPS, cache)                                  # from the cache, never trained again
    assert all(torch.equal(x, y) for x, y in zip(m.state_dict().values(), again.state_dict().values()))
    monkeypatch.undo()
    space = Arch.of(m).space()
    full = evaluate(space.full(), "proxy", 0, cache, STEPS)
    small = evaluate(space.smallest(), "proxy", 0, cache, STEPS)
    assert full["r1"] == pytest.approx(s["r1"])                 # full configuration: unchanged model
    assert small["r1"] < full["r1"] and small["zero_shot_acc"] < full["zero_shot_acc"]


@pytest.mark.slow
def test_recovery_restores_accuracy_of_a_hard_pruned_model(trained, tmp_path):
    """Recovery for real: the smallest legal configuration (every knob at 50 %) scores near chance; recovery
    (evaluator "finetune", distillation from the unpruned model on the train split) must lift it on the held-out
    test split by at least 0.05 mean R@1 and 0.10 zero-shot accuracy (measured here: +0.09 and +0.19 after
    40 steps), and the recovered scores must be identical in a second, independent run (seeded batches)."""
    cache, m = trained
    small = Arch.of(m).space().smallest()
    before = evaluate(small, "proxy", 0, cache, STEPS)
    after = evaluate(small, "finetune", RECOVERY_BUDGET, cache, STEPS)
    # full 5,708,288 MACs / smallest 813,696 MACs = 7.0, capped at 4: ceil(10 x 4) = 40 steps (docs/model.md)
    assert before["recovery_steps"] == 0 and after["recovery_steps"] == 40
    assert after["r1"] >= before["r1"] + 0.05, (before["r1"], after["r1"])
    assert after["zero_shot_acc"] >= before["zero_shot_acc"] + 0.10, (before["zero_shot_acc"], after["zero_shot_acc"])
    assert after["r1"] < 1.0 and after["zero_shot_acc"] < 1.0
    # determinism: a fresh cache holding only the base checkpoint and the ranking recomputes the same numbers
    for sub in ("proxy", "rankings"):
        shutil.copytree(cache / sub, tmp_path / sub)
    again = evaluate(small, "finetune", RECOVERY_BUDGET, tmp_path, STEPS)
    assert again == after


def _concordant_pairs(a: list[int], b: list[int]) -> int:
    """Pairs of heads that two orders put in the same relative order (Kendall's concordant pairs)."""
    pa, pb = {h: i for i, h in enumerate(a)}, {h: i for i, h in enumerate(b)}
    return sum((pa[x] < pa[y]) == (pb[x] < pb[y]) for x, y in itertools.combinations(a, 2))


def _random_tail(heads: int, layers: int, threshold: int) -> Fraction:
    """P(a uniformly random order per layer reaches >= threshold concordant pairs in total), exactly: the
    per-layer count is 'pairs - inversions' of a random permutation (Mahonian distribution), summed over layers."""
    one = [0] * (heads * (heads - 1) // 2 + 1)
    for p in itertools.permutations(range(heads)):
        one[sum(p[i] > p[j] for i, j in itertools.combinations(range(heads), 2))] += 1
    dist = [1]
    for _ in range(layers):
        dist = [sum(dist[i] * one[k - i] for i in range(len(dist)) if 0 <= k - i < len(one))
                for k in range(len(dist) + len(one) - 1)]
    pairs = layers * (heads * (heads - 1) // 2)
    return Fraction(sum(c for inv, c in enumerate(dist) if pairs - inv >= threshold), sum(dist))


@pytest.mark.slow
def test_taylor_head_ranking_agrees_with_ablation_beyond_chance(trained):
    """Statistic: concordant head pairs between the Taylor order and the exact-ablation order, summed over the
    8 layers (4 heads each, 48 pairs in all) of the trained benchmark CLIP, on the 4 calibration batches the
    search uses. A random ranking reaches 35 with probability 0.53 % (computed exactly below; 34 would be
    1.06 %), so a ranking unrelated to ablation passes with probability < 1 %. Measured: 41 of 48. Since both
    orders come out of one function, their shared direction is checked by pruning as well."""
    _, m = trained
    batches = bench.batches("calib", bench.CALIB_N)
    taylor = compute_ranking(m, batches, 4)
    ablation = compute_ranking(m, batches, 4, method="ablation")
    orders = [(t, a) for tower in ("text", "vision")
              for t, a in zip(getattr(taylor, tower).heads, getattr(ablation, tower).heads)]
    assert {len(t) for t, _ in orders} == {4} and len(orders) == 8
    threshold = 35
    assert _random_tail(4, 8, threshold) <= Fraction(1, 100) < _random_tail(4, 8, threshold - 1)
    agree = sum(_concordant_pairs(t, a) for t, a in orders)
    assert agree >= threshold, f"{agree} of 48 head pairs ordered alike; chance level is 24"
    # The direction, checked outside the code both methods share: keeping each layer's two top-ranked heads must
    # lose less on the calibration batches than keeping its two bottom-ranked heads.
    two = Arch.of(m).config()
    two = two.model_copy(update={t: getattr(two, t).model_copy(update={"heads": 2}) for t in ("text", "vision")})
    flipped = Ranking(**{t: getattr(taylor, t).model_copy(update={"heads": [h[::-1] for h in getattr(taylor, t).heads]})
                         for t in ("text", "vision")})
    with torch.no_grad():
        top, bottom = (sum(float(clip_loss(prune(m, two, r), *batches(i))) for i in range(4))
                       for r in (taylor, flipped))
    assert top < bottom, (top, bottom)


def test_random_tail_against_brute_force():
    # 2 layers of 3 heads: 36 equally likely pairs of orders, enumerated
    perms = list(itertools.permutations(range(3)))
    ref = [_concordant_pairs(list(p), [0, 1, 2]) + _concordant_pairs(list(q), [0, 1, 2]) for p in perms for q in perms]
    for k in range(7):
        assert _random_tail(3, 2, k) == Fraction(sum(r >= k for r in ref), len(ref))
