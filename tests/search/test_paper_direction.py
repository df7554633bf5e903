"""The paper's direction on the real model: for CLIP ViT-B/16 on the edge template, the carbon-optimal design of a
hardware-only study is smaller and emits less carbon than the latency-optimal one (slow: lowers ViT-B/16)."""

from __future__ import annotations

import pytest

import search
from search.flagship import direction


@pytest.mark.slow
def test_carbon_optimal_is_smaller_and_greener_than_latency_optimal(tmp_path):
    st = search.run("hardware-only", trials=150, out=tmp_path)
    d = direction(st)
    c, lat = d["carbon_optimal"], d["latency_optimal"]
    assert c["carbon_kg"] < lat["carbon_kg"] and c["area_mm2"] < lat["area_mm2"]
    assert c["latency_s"] > lat["latency_s"]
    # every stored trial respects the 16,384-MAC budget, and the front holds only feasible designs
    assert all(t.metrics["pes"] <= 16384 for t in st.trials)
    assert all(t.metrics["latency_s"] <= 0.05 for t in st.front())


@pytest.mark.slow
def test_flagship_runs_on_builtin_defaults(tmp_path):
    import io

    from rich.console import Console

    from search.flagship import run_flagship
    buf = io.StringIO()
    assert run_flagship(out=tmp_path, trials=40, console=Console(file=buf, width=200), joint=False) == 0
    out = buf.getvalue()
    assert "carbon-optimal vs latency-optimal" in out and "less carbon" in out
    st = search.Study.load(tmp_path / "hardware")
    assert st.info["mode"] == "exhaustive" and len(st.trials) == 3060         # every legal edge design, exact front
    assert (tmp_path / "hardware" / "front.png").exists()
