"""Lowering runs the IR fusion passes by default (``frontend.load(..., fuse=True)``, ``catx ... --no-fuse``): the
same MACs as the graph as imported, fewer executed ops, attention as one fused op, and every op still maps."""

from __future__ import annotations

import json

import pytest

import backend
import frontend
import ir
from search.cli import main


@pytest.mark.parametrize("arch", ["gpt2", "vit"])
def test_load_fuses_by_default_and_keeps_the_work(arch):
    raw = frontend.load(f"frontend.zoo:{arch}", fuse=False)
    g = frontend.load(f"frontend.zoo:{arch}")
    assert g.meta["fused"] is True and raw.meta["fused"] is False
    t, r = ir.totals(g), ir.totals(raw)
    assert t.macs == r.macs and t.param_count == r.param_count
    assert t.ops < r.ops
    assert [o.kind for o in g.ops].count(ir.OpKind.ATTENTION) == 1          # one stored layer, repeated twice
    assert ir.OpKind.ATTENTION not in {o.kind for o in raw.ops}
    # the ViT's patch conv takes its bias and the token reshape as an epilogue (its batch dim of size 1 leaves
    # the output index): it must still map as a GEMM
    est = backend.estimate(g, backend.presets.get("catransformers-edge"))
    assert est.feasible and est.macs == r.macs


def test_cli_no_fuse_keeps_the_graph_as_imported(capsys):
    assert main(["lower", "frontend.zoo:gpt2", "--json"]) == 0
    fused = json.loads(capsys.readouterr().out)
    assert main(["lower", "frontend.zoo:gpt2", "--no-fuse", "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert fused["totals"]["macs"] == raw["totals"]["macs"]
    assert fused["totals"]["ops"] < raw["totals"]["ops"]
    assert "attention" in {r["kind"] for r in fused["ops"]} and "attention" not in {r["kind"] for r in raw["ops"]}
