"""Retrieval/zero-shot metrics against hand-worked cases and brute force; rankings are well-formed and cached."""

import itertools

import pytest
import torch

from frontend.clip import Arch, middle_order
from frontend.clip.importance import cached_ranking, compute_ranking
from frontend.evaluate.metrics import chance_recall, retrieval_recall, zero_shot_accuracy


def test_retrieval_recall_hand_case():
    img = torch.eye(3)
    txt = torch.tensor([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0], [0.9, 0.1, 0]])
    match = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=torch.bool)
    r = retrieval_recall(img, txt, match, ks=(1, 4))
    # image 0 -> text 0 (ok); image 1 -> text 2 (wrong); image 2 -> text 1 (wrong)
    assert r["i2t_r1"] == pytest.approx(1 / 3)
    # text 0 -> img 0 ok, text 1 -> img 2 wrong, text 2 -> img 1 wrong, text 3 -> img 0 ok
    assert r["t2i_r1"] == 0.5 and r["r1"] == pytest.approx((1 / 3 + 0.5) / 2)
    assert r["i2t_r4"] == 1.0 and r["t2i_r4"] == 1.0      # k beyond the gallery: everything is found


def test_chance_recall_equals_brute_force():
    match = torch.tensor([[1, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 0, 1, 1, 0]], dtype=torch.bool)
    for k in (1, 2):
        def side(m):
            tot = 0.0
            n = m.shape[1]
            for row in m:
                perms = list(itertools.permutations(range(n)))
                tot += sum(bool(row[list(p[:k])].any()) for p in perms) / len(perms)
            return tot / m.shape[0]
        assert abs(chance_recall(match, k) - (side(match) + side(match.t())) / 2) < 1e-12


def test_zero_shot_accuracy():
    cls = torch.eye(2)
    feats = torch.tensor([[1.0, 0], [0.2, 0.9], [0.6, 0.4]])
    assert zero_shot_accuracy(feats, cls, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_middle_order_drops_middle_layers():
    o = middle_order(12)
    assert sorted(o[:6]) == [0, 1, 2, 9, 10, 11]
    assert sorted(o[:11]) == [i for i in range(12) if i != 5]
    assert sorted(o) == list(range(12))


def _batches(arch: Arch, n: int = 16):
    def get(step):
        g = torch.Generator().manual_seed(step)
        tok = torch.randint(1, arch.vocab_size - 1, (n, arch.context_length), generator=g)
        tok[:, -1] = arch.vocab_size - 1
        return torch.randn(n, 3, arch.image_size, arch.image_size, generator=g), tok
    return get


def test_rankings_are_permutations_and_cached(tiny, tmp_path):
    arch = Arch.of(tiny)
    r = compute_ranking(tiny, _batches(arch), 2)
    r.text.check(arch.text, "text")
    r.vision.check(arch.vision, "vision")
    assert r.text.layers == middle_order(arch.text.layers)
    a = compute_ranking(tiny, _batches(arch), 1, method="ablation")
    a.vision.check(arch.vision, "vision")
    c1 = cached_ranking(tiny, "tiny", _batches(arch), 2, "rand", cache_dir=tmp_path)
    assert c1.text == r.text and c1.vision == r.vision
    assert len(list((tmp_path / "rankings").glob("*.json"))) == 1
    c2 = cached_ranking(tiny, "tiny", _batches(arch), 2, "rand", cache_dir=tmp_path)
    assert c2 == c1
