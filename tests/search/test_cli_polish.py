"""The command line's tables and options: units in every header, configurations that keep their line at 100
columns, ``--json`` on every result-printing command holding the numbers the tables show, examples on --help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from searchkit import gemm_study

import search
from search import report as R
from search.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def catx(*args: str, columns: int = 200) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    r = subprocess.run([sys.executable, "-m", "search.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def hw_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("hw")
    search.run(gemm_study(objectives=["carbon_kg", "latency_s", "energy_j"],
                          optimizer={"kind": "random", "trials": 40, "seed": 2}), out=out)
    return out


@pytest.fixture(scope="module")
def joint_study(tmp_path_factory):
    """Model and hardware knobs together (a tiny open_clip CLIP pruned per tower on the edge template)."""
    from searchkit import EDGE
    out = tmp_path_factory.mktemp("joint")
    d = {"name": "joint-test", "model": {"spec": "searchkit:tiny_clip", "tower": "both",
                                         "knobs": {"text_layers": [2, 3, 4], "vision_layers": [2, 3, 4]}},
         "hardware": {"knobs": dict(EDGE)}, "objectives": ["carbon_kg", "latency_s"],
         "constraints": [{"metric": "pes", "max": 16384}], "optimizer": {"kind": "random", "trials": 10, "seed": 0}}
    search.run(d, out=out)
    return out


def configurations_fit(output: str, configs: list[str], width: int) -> None:
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= width, [line for line in lines if len(line) > width]
    for c in configs:
        assert any(c in line for line in lines), f"configuration {c!r} wrapped or cut"


@pytest.mark.parametrize("which", ["hw_study", "joint_study"])
def test_results_fit_100_columns_with_whole_configurations(which, request):
    d = request.getfixturevalue(which)
    st = search.Study.load(d)
    out = catx("results", str(d), "--no-plots", columns=100).stdout
    shown = [b for _, b in R.best_rows(st)] + st.front()[:30]
    configurations_fit(out, [R.config_short(st, t) for t in shown], 100)
    assert "configuration: cN: N cores · RxC: PE rows x columns" in out


def test_widest_designs_fit_100_columns():
    """The widest configuration of the CLIP ViT-B/16 joint space (every knob at its longest value) with five
    metric columns of the widest values the formatter writes still keeps its line at 100 columns."""
    from rich.console import Console

    from search.results import Study
    from search.store import Trial
    spec = search.load("joint")
    widest = {k.name: max(k.choices(), key=lambda v: len(str(v))) for k in spec.knobs()}
    metrics = {"accuracy": 0.123456, "carbon_kg": 0.123456, "latency_s": 0.0123456, "energy_j": 0.0123456,
               "area_mm2": 12.3456}
    trials = [Trial(config=widest, status="ok", metrics=metrics, id=9999)]
    st = Study(spec, Path("."), trials)
    config = R.config_short(st, trials[0])
    assert len(config) >= 50
    console = Console(width=100, record=True, file=open(os.devnull, "w"))
    for table in (R.best_table(st, width=100), R.front_table(st, width=100),
                  R.compare_table([("min carbon", trials[0], st)], width=100)):
        console.print(table)
    configurations_fit(console.export_text(), [config], 100)


def test_every_table_header_carries_its_unit(hw_study):
    out = catx("results", str(hw_study), "--no-plots", "--trials").stdout
    heads = [line for line in out.splitlines() if "kgCO2e" in line]
    assert heads and all(u in "\n".join(out.splitlines()) for u in ("kgCO2e", "ms", "mJ", "mm²"))
    st = search.Study.load(hw_study)
    for table in (R.best_table(st), R.front_table(st), R.trials_table(st, st.trials, "all")):
        for col in table.columns:
            h = str(col.header)
            metric = next((m for m in R.SCALE if h.startswith(R.label(m) + "\n")), None)
            if metric is not None:
                assert h.endswith("\n" + R.unit(metric)) and R.unit(metric)
    est = catx("estimate", "gemm:197,768,3072", "--hardware", "catransformers-edge").stdout
    for h in ("repeat [x]", "latency each [ms]", "latency total [ms]", "energy each [µJ]"):
        assert h in est
    low = catx("lower", "gemm:197,768,3072").stdout
    for h in ("MACs [count]", "vector ops [count]", "operand bytes [B]", "repeat [x]"):
        assert h in low


def _rows(out: str) -> dict[int, list[str]]:
    """Table rows that start with a trial id: id -> the cells after it."""
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = cells[1:]
    return rows


def test_results_json_holds_the_table_numbers(hw_study):
    table = _rows(catx("results", str(hw_study), "--no-plots").stdout)
    doc = json.loads(catx("results", str(hw_study), "--json").stdout)
    s = doc["studies"][0]
    cols = list(s["objectives"]) + ["area_mm2"]
    assert s["front"]
    for d in s["front"]:
        cells = table[d["id"]]
        assert cells[:len(cols)] == [R.fmt(c, d["metrics"][c]) for c in cols]
        assert " ".join(cells[len(cols):]) == d["short"]
    st = search.Study.load(hw_study)
    assert [d["id"] for d in s["front"]] == [t.id for t in st.front()]
    assert {o: b["id"] for o, b in s["best"].items()} == {o: st.best(o).id for o in st.objectives}
    assert s["units"]["carbon_kg"] == "kgCO2e" and s["units"]["latency_s"] == "s"


def test_estimate_lower_inspect_carbon_json_hold_the_printed_numbers():
    spec, hw = "gemm:197,768,3072", ["--hardware", "catransformers-edge"]
    est = json.loads(catx("estimate", spec, *hw, "--json").stdout)
    text = catx("estimate", spec, *hw).stdout
    assert f"latency {est['latency_s'] * 1e3:.3f} ms" in text and f"energy {est['energy_j'] * 1e3:.3f} mJ" in text
    op = est["ops"][0]
    assert re.search(rf"{op['name']} .* {op['latency_s'] * op['repeat'] * 1e3:.3f} .* {op['energy_j'] * 1e6:.2f}",
                     text)

    low = json.loads(catx("lower", spec, "--json").stdout)
    text = catx("lower", spec).stdout
    assert low["totals"]["macs"] == 197 * 768 * 3072 and f"{low['ops'][0]['macs']:,}" in text
    assert f"MACs {low['totals']['macs']:,}" in text

    ins = json.loads(catx("inspect", spec, *hw, "--op", "matmul", "--json").stdout)
    text = catx("inspect", spec, *hw, "--op", "matmul").stdout
    assert f"cycles {ins['op']['cycles']:,.0f}" in text
    assert ins["op"]["cycles"] == pytest.approx(est["ops"][0]["cycles"])
    assert all(line in text for line in ins["loop_nest"])

    car = json.loads(catx("carbon", spec, *hw, "--scenario", "taiwan", "--json").stdout)
    text = catx("carbon", spec, *hw, "--scenario", "taiwan").stdout
    assert re.search(rf"^total\s+{car['total_kg']:.4f}\s", text, flags=re.M)
    assert car["total_kg"] == pytest.approx(car["embodied_kg"] + car["operational_kg"])


def test_search_json_is_the_only_thing_on_stdout(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(gemm_study(optimizer={"kind": "random", "trials": 12, "seed": 4})))
    r = catx("search", str(spec), "--out", str(tmp_path / "run"), "--json")
    doc = json.loads(r.stdout)
    st = search.Study.load(tmp_path / "run")
    s = doc["studies"][0]
    assert s["counts"]["trials"] == 12 == len(st.trials)
    assert {o: b["id"] for o, b in s["best"].items()} == {o: st.best(o).id for o in st.objectives}
    assert doc["report"]["path"] == str(tmp_path / "run" / "report.html") and Path(doc["report"]["path"]).is_file()
    assert "best design per objective" in r.stderr                      # the tables went to stderr


def _help(*cmd: str) -> str:
    from contextlib import redirect_stdout
    from io import StringIO

    from search.cli import main
    buf = StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0
    return buf.getvalue()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_gives_examples(command):
    text = _help(command)
    assert "examples:" in text
    examples = text.split("examples:", 1)[1].strip().splitlines()
    assert examples and all(line.strip().startswith(f"catx {command}") for line in examples)
    if command == "proxy":
        for action in ("train", "eval", "table"):
            assert f"catx proxy {action}" in _help("proxy", action).split("examples:", 1)[1]


@pytest.mark.parametrize("command", ["search", "results", "lower", "estimate", "inspect", "carbon", "report"])
def test_result_commands_take_json(command):
    assert "--json" in _help(command)
