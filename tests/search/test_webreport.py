"""``catx report``: the HTML page of a real study and of a single estimate (contents checked against the store and
against independent evaluations), self-containment, partial studies and bad input."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from searchkit import gemm_study

import backend
import ir
import search
from search import notation
from search import report as R
from search.errors import ReportError, StoreError
from search.evaluate import Evaluator
from search.webreport import write_estimate_report, write_study_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gemm-study")
    search.run(gemm_study(optimizer={"kind": "random", "trials": 30, "seed": 5}), out=out)
    return out


def text_of(page: str) -> str:
    """The page's text with tags dropped and entities decoded (what a reader sees, without scripts)."""
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def external_references(page: str) -> list[str]:
    """Anything a browser could fetch: src/href/url()/@import/srcset pointing outside the page."""
    refs = re.findall(r"""(?:\bsrc|\bhref|srcset|xlink:href|action|poster|data)\s*=\s*["']([^"']*)["']""", page)
    refs += re.findall(r"url\(\s*['\"]?([^'\")]+)", page) + re.findall(r"@import\s+['\"]?([^'\";]+)", page)
    return [r for r in refs if not r.startswith("#")]


def test_study_page_holds_every_section_with_the_stored_numbers(study_dir):
    w = write_study_report(study_dir)
    assert w.path == study_dir / "report.html" and not w.partial and w.bytes == w.path.stat().st_size
    page = w.path.read_text()
    st = search.Study.load(study_dir)
    for sid in ("definition", "front", "best", "carbon", "ops", "hv"):
        assert f'id="s0-{sid}"' in page
    text = text_of(page)
    # the best design per objective: its trial id, stored metrics (as the CLI formats them) and configuration
    for o in st.objectives:
        b = st.best(o)
        assert f"best {R.label(o)}" in text and R.config_short(st, b) in text
        assert R.fmt("carbon_kg", b.metrics["carbon_kg"]) in text and R.fmt("latency_s", b.metrics["latency_s"]) in text
    # every design of the front is listed and is a hover target
    hover = json.loads(re.search(r'<script type="application/json" id="catx-trials">(.*?)</script>', page,
                                 flags=re.S).group(1))["s0"]
    for t in st.front():
        assert f"<td class=n>{t.id}</td>" in page and str(t.id) in hover
        assert R.config_short(st, t) in hover[str(t.id)]
    assert set(hover) == {str(t.id) for t in st.feasible()}
    assert len(re.findall(r"<svg ", page)) == 1 + 1 + 1          # one front plot (2 objectives), carbon, hypervolume
    assert external_references(page) == []


def test_per_op_tables_match_an_independent_estimate(study_dir):
    """The best-carbon design's per-op rows and carbon equal a fresh backend.estimate + carbon of that design."""
    from backend.carbon import carbon
    from backend.report import loop_nest
    page = write_study_report(study_dir).path.read_text()
    st = search.Study.load(study_dir)
    b = st.best("carbon_kg")
    hw = Evaluator(st.spec).hardware(Evaluator(st.spec).full(b.config))   # the trial's hardware
    import frontend
    est = backend.estimate(frontend.load("gemm:197,768,3072"), hw, target="edp")
    assert est.latency_s == pytest.approx(b.metrics["latency_s"], rel=1e-9)
    first = page.split('id="s0-ops"')[1].split('<details class="design"')[1]
    ops = re.findall(r'<details class="op[^"]*"><summary class="oprow"><span class=name>([^<]+)</span>', first)
    assert ops[:len(est.ops)] == [r.name for r in est.ops]
    for line in loop_nest(est.ops[0].schedule):
        assert html.escape(line, quote=True) in first
    rep = carbon(est, st.spec.scenario, model_bytes=ir.totals(frontend.load("gemm:197,768,3072")).param_bytes)
    assert f"<b>{R.fmt('carbon_kg', rep.total_kg)}</b>" in page
    assert rep.total_kg == pytest.approx(b.metrics["carbon_kg"], rel=1e-9)
    # the Monte Carlo band brackets the median, and the parts sum to the total
    m = re.search(r"<b>([\d.]+)</b></td><td class=n>([\d.]+)</td><td class=n>([\d.]+)</td><td class=n>([\d.]+)</td>",
                  page)
    total, p5, p50, p95 = map(float, m.groups())
    assert p5 < p50 < p95 and p5 < total < p95


def test_estimate_page(tmp_path):
    import frontend
    from backend.carbon import carbon
    g = frontend.load("gemm:197,768,3072")
    hw = backend.presets.get("catransformers-edge")
    w = write_estimate_report(g, hw, "taiwan", tmp_path / "e.html", "gemm:197,768,3072")
    page = w.path.read_text()
    text = text_of(page)
    est = backend.estimate(g, hw)
    rep = carbon(est, "taiwan", model_bytes=ir.totals(g).param_bytes)
    assert f"<b>{R.fmt('carbon_kg', rep.total_kg)}</b>" in page and "scenario taiwan" in text
    assert f"{est.latency_s * 1e3:.4g}" in text and "matmul" in text
    assert "Pareto" not in text and external_references(page) == []


def test_cli_writes_the_report_and_prints_json(study_dir, tmp_path):
    from search.cli import main
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "search.cli", "report", str(study_dir), "-o", str(out), "--json"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["path"] == str(out) and doc["bytes"] == out.stat().st_size and doc["partial"] is False
    assert main(["report", "--estimate", "gemm:64,64,64", "--hardware", "catransformers-edge", "-o",
                 str(tmp_path / "e.html")]) == 0
    assert (tmp_path / "e.html").stat().st_size > 10_000


def test_partial_study_is_marked(study_dir, tmp_path):
    """A store with fewer trials than the study plans (a run stopped early) gives a report marked partial."""
    import shutil
    d = tmp_path / "partial"
    shutil.copytree(study_dir, d)
    db = sqlite3.connect(d / "study.sqlite")
    db.execute("DELETE FROM trials WHERE id > 12")
    db.execute("DELETE FROM meta WHERE key = 'run_info'")
    db.commit()
    db.close()
    w = write_study_report(d)
    assert w.partial
    text = text_of(w.path.read_text())
    assert "PARTIAL: 12 of 30 trials stored so far" in text and "PARTIAL REPORT" in text


def test_report_of_a_study_still_running(tmp_path):
    """While `catx search` runs, the report shows the trials stored so far and says so."""
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(gemm_study(optimizer={"kind": "random", "trials": 100_000, "seed": 1})))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "search", str(spec), "--out", str(out), "--quiet",
                             "--no-report"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if len(search.Study.load(out).trials) >= 10:
                    break
            except (StoreError, sqlite3.Error):      # the search has not created (or finished writing) its store
                pass
            time.sleep(0.5)
        w = write_study_report(out)
        assert proc.poll() is None                                     # still running when the report was read
    finally:
        proc.kill()
        proc.wait()
    assert w.partial
    n = int(re.search(r"PARTIAL: (\d+) of 100000 trials", text_of(w.path.read_text())).group(1))
    assert n >= 10


def test_folder_of_studies_gives_one_page(study_dir, tmp_path):
    import shutil
    for name in ("a", "b"):
        shutil.copytree(study_dir, tmp_path / "run" / name)
    page = write_study_report(tmp_path / "run").path.read_text()
    assert 'id="s0"' in page and 'id="s1"' in page and (tmp_path / "run" / "report.html").is_file()


def test_bad_input_gives_typed_one_line_errors(tmp_path):
    with pytest.raises(ReportError, match="no study here"):
        write_study_report(tmp_path)
    with pytest.raises(ReportError, match="no such folder"):
        write_study_report(tmp_path / "missing")
    bad = tmp_path / "garbage"
    bad.mkdir()
    (bad / "study.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a database"):
        write_study_report(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    sqlite3.connect(empty / "study.sqlite").execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(StoreError, match="not a CATX results store"):
        write_study_report(empty)


def test_corrupt_rows_give_a_store_error(study_dir, tmp_path):
    import shutil
    d = tmp_path / "corrupt"
    shutil.copytree(study_dir, d)
    db = sqlite3.connect(d / "study.sqlite")
    db.execute("UPDATE trials SET metrics = '{not json' WHERE id = 3")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="trial 3 column 'metrics'"):
        write_study_report(d)
    r = subprocess.run([sys.executable, "-m", "search.cli", "report", str(d)], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert "trial 3 column 'metrics'" in r.stderr


def test_paper_comparison_reads_the_one_data_file():
    """The paper's numbers come from one file, search/data/catransformers_paper.yaml: the reproduction bench, the
    paper-direction bench and the report read it; nothing else in the code repeats them."""
    from search import paper
    doc = yaml.safe_load((ROOT / "search" / "data" / "catransformers_paper.yaml").read_text())
    row = paper.hardware_only("openclip:ViT-B-16")
    c_kg, c_ms, l_kg, l_ms = doc["table2"]["CLIP-B/16"]
    assert row["min_carbon"] == {"carbon_kg": c_kg, "latency_s": pytest.approx(c_ms / 1e3)}
    assert row["min_latency"] == {"carbon_kg": l_kg, "latency_s": pytest.approx(l_ms / 1e3)}
    assert paper.direction_line() == f"paper, CLIP-B/16: {c_kg:g} vs {l_kg:g} kg, {c_ms:g} vs {l_ms:g} ms"
    assert notation.short(paper.hardware_knobs(row["min_carbon_hardware"])) == "c1 256x8 L64K/128 G2M"
    rows = paper.carbonclip()
    assert [r["model"] for r in rows] == list(doc["table3"]) and all(0 < r["accuracy"] < 1 for r in rows)
    assert paper.hardware_only("gemm:8,8,8") is None
    sys.path.insert(0, str(ROOT / "bench"))
    import paper_models
    assert paper_models.DATA.resolve() == paper.DATA.resolve()
    for f in ("bench/carbon_paper_direction.py", "search/flagship.py", "search/webreport/sections.py"):
        assert "0.54" not in (ROOT / f).read_text() and "18.5" not in (ROOT / f).read_text(), f


def test_a_study_without_feasible_trials_still_gives_a_page(tmp_path):
    search.run(gemm_study(constraints=[{"metric": "latency_s", "max": 1e-7}],
                          optimizer={"kind": "random", "trials": 4, "seed": 1}), out=tmp_path)
    text = text_of(write_study_report(tmp_path).path.read_text())
    assert "No feasible trial yet: 4 missed a constraint, 0 failed" in text and "No design to detail" in text
