"""`catx lower`, `estimate` and `inspect` show where ops come from, and `inspect --op` finds ops as people name them."""

import re

import pytest

from search.cli import main

HW = ["--hardware", "catransformers-edge"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lower_prints_sources_and_folded_work(capsys):
    code, out, _ = run(capsys, "lower", "frontend.zoo:vit")
    assert code == 0
    assert re.search(r"matmul_\d+\s+│?\s*blocks\.\*\.up\s", out), out
    assert "folded weight/constant compute (not in the totals above):" in out
    assert "--keep-weight-compute keeps weight compute as ops" in out
    code, out, _ = run(capsys, "lower", "frontend.zoo:vit", "--keep-weight-compute")
    assert code == 0 and "folded weight/constant compute: none; weight compute kept as ops" in out


def test_estimate_shows_sources(capsys):
    code, out, _ = run(capsys, "estimate", "frontend.zoo:vit", *HW, "--top", "3")
    assert code == 0 and "blocks.*." in out


def test_inspect_accepts_a_source_name(capsys):
    code, out, _ = run(capsys, "inspect", "frontend.zoo:vit", *HW, "--op", "blocks.1.up")
    assert code == 0
    first = out.splitlines()[0]
    assert re.match(r"op matmul_\d+ \(matmul, matmul\) x2 on .* source blocks\.\*\.up$", first), first
    assert "MACs 1,114,112" in out  # 17 tokens x 128 -> 512, one layer


def test_inspect_lists_candidates_when_several_match(capsys):
    # the graph as imported (--no-fuse): fusion would join softmax and both attention matmuls into one op
    code, out, _ = run(capsys, "inspect", "frontend.zoo:vit", "--no-fuse", *HW, "--op", "softmax")  # an exact name
    assert code == 0 and out.startswith("op softmax (softmax, softmax) x2")
    code, _, err = run(capsys, "inspect", "frontend.zoo:vit", "--no-fuse", *HW, "--op", "blocks.0.attn")  # QK, AV
    assert code == 2 and err.count("\n") == 1
    assert re.search(r"'blocks\.0\.attn' matches 2 ops in vit: matmul_\d+ \(batch_matmul matmul, blocks\.\*\.attn\); "
                     r"matmul_\d+ \(batch_matmul matmul, blocks\.\*\.attn\); give one of these names", err), err


def test_inspect_suggests_the_closest_names(capsys):
    code, _, err = run(capsys, "inspect", "frontend.zoo:vit", *HW, "--op", "blocks.1.upp")
    assert code == 2
    assert "no op named 'blocks.1.upp' in vit, nor one whose source or name contains it; closest: matmul_" in err


@pytest.mark.slow
def test_inspect_accepts_the_name_estimate_prints_for_both_towers(capsys):
    code, out, _ = run(capsys, "estimate", "openclip:ViT-B-16", "--tower", "both", *HW, "--top", "1")
    assert code == 0
    printed = re.search(r"(image\.\S+|text\.\S+)", out.split("costliest")[1]).group(1)
    tower = printed.split(".")[0]
    code, out, err = run(capsys, "inspect", "openclip:ViT-B-16", "--tower", tower, *HW, "--op", printed)
    assert code == 0, err
    assert out.startswith(f"op {printed.split('.', 1)[1]} ")
    other = "text" if tower == "image" else "image"
    code, _, err = run(capsys, "inspect", "openclip:ViT-B-16", "--tower", tower, *HW, "--op", f"{other}.matmul_4")
    assert code == 2 and f"'{other}' names a tower this graph does not hold" in err
