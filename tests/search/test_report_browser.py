"""The HTML report in a real browser: headless Chromium over the DevTools protocol checks the visible content after
the page's script ran, hover details, expanding ops, no console errors and no request beyond the file itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import Browser, executable
from searchkit import gemm_study

import backend
import search
from search import paper
from search import report as R
from search.evaluate import Evaluator
from search.webreport import write_study_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def chromium():
    if executable() is None:
        if os.environ.get("CATX_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing in CI; .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed here (Debian: apt-get install -y chromium); CI runs this test")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser-study")
    st = search.run(gemm_study(optimizer={"kind": "random", "trials": 30, "seed": 7}), out=out)
    return write_study_report(out).path, st


def test_the_harness_sees_requests_and_console_errors(tmp_path):
    """Negative control: a page that fetches and logs an error is caught, so the checks below can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://example.invalid/x.png"><script>console.error("boom");'
                   "undefinedFunction();</script></body></html>")
    with Browser() as b:
        b.open(bad.as_uri())
        assert "http://example.invalid/x.png" in b.requests()
        errors = b.errors()
    assert any("boom" in e for e in errors) and any("undefinedFunction" in e for e in errors)


def test_report_renders_offline_with_working_hover_and_ops(page):
    from backend.report import loop_nest
    path, st = page
    with Browser(width=1280, height=900) as b:
        b.open(path.as_uri())
        assert b.eval("document.documentElement.dataset.ready") == "1"          # the inline script ran
        text = b.eval("document.body.innerText")
        for heading in ("Study definition", "Pareto front", "Best design per objective",
                        "Carbon breakdown of the chosen designs", "Per-op costs of the chosen designs", "Hypervolume"):
            assert heading in text
        best = st.best("carbon_kg")
        assert R.config_short(st, best) in text and R.fmt("carbon_kg", best.metrics["carbon_kg"]) in text
        widths = b.eval("[...document.querySelectorAll('svg.plot')].map(s => s.getBoundingClientRect().width)")
        assert len(widths) == 3 and min(widths) > 250

        # hover the first point of the front: the tooltip names that trial, its metrics and its configuration
        x, y, tid = b.eval("""(() => { const g = document.querySelector('g.pts[id$="-front"]');
            const u = g.querySelector('use'); u.scrollIntoView({block: 'center'});
            const r = u.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2, g.dataset.trials.split(',')[0]]; })()""")
        assert b.eval("document.getElementById('tip').hidden") is True
        b.mouse(x, y)
        tip = b.eval("document.getElementById('tip').hidden ? '' : document.getElementById('tip').innerText")
        t = next(t for t in st.trials if t.id == int(tid))
        assert f"trial {t.id}" in tip and R.config_short(st, t) in tip
        assert f"latency {R.fmt('latency_s', t.metrics['latency_s'])} ms" in tip
        b.mouse(5, 5)
        assert b.eval("document.getElementById('tip').hidden") is True

        # an op row expands into its loop nest: the backend's own rendering of the schedule
        hw = Evaluator(st.spec).hardware(Evaluator(st.spec).full(best.config))   # the trial's hardware
        import frontend
        est = backend.estimate(frontend.load("gemm:197,768,3072"), hw, target="edp")
        assert b.eval("document.querySelector('details.op pre').checkVisibility()") is False      # closed: hidden
        b.eval("document.querySelector('details.op summary').click()")
        nest = b.eval("document.querySelector('details.op[open] pre').innerText")
        assert nest.strip() == "\n".join(loop_nest(est.ops[0].schedule)).strip()
        assert b.errors() == []
        assert b.requests() == [path.as_uri()]


def test_free_views_are_hidden_until_asked_for(tmp_path):
    """The per-op table hides zero-cost views (reshape, transpose) behind a checkbox."""
    from ir import Access, Graph, Op, OpKind, TensorRole, validate
    from search.webreport import write_estimate_report
    g = Graph("views")                          # a matmul whose output is transposed and flattened
    for name, shape, role in (("x", (64, 128), TensorRole.INPUT), ("w", (128, 96), TensorRole.PARAM),
                              ("y", (64, 96), TensorRole.ACTIVATION), ("z", (96, 64), TensorRole.ACTIVATION),
                              ("r", (6144,), TensorRole.ACTIVATION)):
        g.add_tensor(name, shape, 8, role)
    g.inputs, g.outputs = ["x"], ["r"]
    g.ops += [Op("mm", OpKind.MATMUL, {"m": 64, "n": 96, "k": 128}, [Access("x", ("m", "k")), Access("w", ("k", "n"))],
                 Access("y", ("m", "n")), reduce=("k",), fn="matmul"),
              Op("t", OpKind.TRANSPOSE, {"m": 64, "n": 96}, [Access("y", ("m", "n"))], Access("z", ("n", "m"))),
              Op("flat", OpKind.RESHAPE, {"n": 96, "m": 64}, [Access("z", ("n", "m"))], Access("r", ("n*64+m",)))]
    validate(g)
    hw = backend.presets.get("catransformers-edge")
    path = write_estimate_report(g, hw, "catx-default", tmp_path / "views.html", "hand-built").path
    est = backend.estimate(g, hw)
    views = sum(1 for r in est.ops if r.schedule.get("view"))
    assert views > 0
    visible = "[...document.querySelectorAll('details.op')].filter(d => d.checkVisibility()).length"
    with Browser() as b:
        b.open(path.as_uri())
        assert b.eval(visible) == len(est.ops) - views
        b.eval("document.querySelector('.toggle input').click()")
        assert b.eval(visible) == len(est.ops)
        assert b.errors() == [] and b.requests() == [path.as_uri()]


@pytest.mark.slow
def test_search_writes_the_report_with_the_paper_comparison(tmp_path):
    """`catx search hardware-only` (CLIP ViT-B/16) writes report.html; it shows the paper's numbers beside CATX's."""
    out = tmp_path / "hw"
    r = subprocess.run([sys.executable, "-m", "search.cli", "search", "hardware-only", "--trials", "30", "--out",
                        str(out), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    path = out / "report.html"
    assert f"report: {path}" in r.stdout
    st = search.Study.load(out)
    row = paper.hardware_only("openclip:ViT-B-16")
    with Browser() as b:
        b.open(path.as_uri())
        section = b.eval("document.getElementById('s0-paper').nextElementSibling.innerText")
        table = b.eval("""[...document.getElementById('s0-paper').nextElementSibling.nextElementSibling
                           .querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText))""")
        assert b.errors() == [] and b.requests() == [path.as_uri()]
    assert "Table 2" in section
    c, lat = st.best("carbon_kg"), st.best("latency_s")
    assert table[0][:5] == ["min carbon", f"{row['min_carbon']['carbon_kg']:.4g}",
                            f"{row['min_carbon']['latency_s'] * 1e3:.4g}", R.fmt("carbon_kg", c.metrics["carbon_kg"]),
                            R.fmt("latency_s", c.metrics["latency_s"])]
    assert table[1][:5] == ["min latency", f"{row['min_latency']['carbon_kg']:.4g}",
                            f"{row['min_latency']['latency_s'] * 1e3:.4g}",
                            R.fmt("carbon_kg", lat.metrics["carbon_kg"]), R.fmt("latency_s", lat.metrics["latency_s"])]
