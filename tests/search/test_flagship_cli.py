"""The main job as users run it: ``catx search flagship`` through the CLI, both parts, small trial counts; a failure
in either part exits non-zero with one line naming the part (slow: lowers ViT-B/16, trains the benchmark CLIP once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import search
from search.cli import main

ROOT = Path(search.__file__).resolve().parents[1]


def catx() -> list[str]:
    """The installed console script beside this Python, else the same entry point as a module."""
    exe = Path(sys.executable).with_name("catx")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "search.cli"]


@pytest.mark.slow
def test_flagship_cli_runs_both_parts(tmp_path):
    out = tmp_path / "flagship"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([*catx(), "search", "flagship", "--trials", "3", "--out", str(out)], capture_output=True,
                       text=True, env=env, timeout=1500, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    text = " ".join(r.stdout.split())
    assert "exhaustive:" in text and "front is exact" in text and "carbon-optimal vs latency-optimal" in text
    assert "nested: 3 model configurations" in text and "accuracy: 'proxy'" in text
    hw = json.loads((out / "hardware" / "summary.json").read_text())
    assert hw["info"]["mode"] == "exhaustive" and hw["counts"]["trials"] == 3060            # 180 over 16,384 MACs
    hw_st = search.Study.load(out / "hardware")          # ok exactly where the 50 ms limit holds, infeasible elsewhere
    assert hw["counts"]["ok"] == sum(t.metrics["latency_s"] <= 0.05 for t in hw_st.trials) > 0
    assert hw["counts"]["ok"] + hw["counts"]["infeasible"] == 3060
    joint = json.loads((out / "joint" / "summary.json").read_text())
    assert joint["info"]["mode"] == "nested" and joint["info"]["model_evaluations"] == 3
    assert joint["info"]["inner_designs"] == 3060 and len(joint["objectives"]) == 3
    assert "built-in benchmark" in joint["accuracy_source"] and "ViT-B-16" in joint["accuracy_source"]
    assert joint["front"] and all(0 < f["metrics"]["accuracy"] <= 1 and f["metrics"]["latency_s"] <= 0.05
                                  for f in joint["front"])
    st = search.Study.load(out / "joint")
    from frontend.evaluate import evaluate  # the stored accuracy is the evaluator's, unchanged
    t = st.trials[0]
    cfg = {k: v for k, v in t.config.items() if k.startswith(("text_", "vision_"))}
    assert t.metrics["accuracy"] == evaluate(cfg, evaluator="proxy")["accuracy"]
    for p in ("hardware", "joint"):
        assert (out / p / "front.png").stat().st_size > 0


@pytest.mark.slow
def test_flagship_failure_in_the_joint_part_exits_non_zero_with_one_line(tmp_path, monkeypatch, capsys):
    def broken(cfg, evaluator, budget=None):
        raise RuntimeError("benchmark data unreadable")
    monkeypatch.setattr("search.evaluate.accuracy_function", lambda: broken)
    assert main(["search", "flagship", "--trials", "2", "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("catx search: error: flagship joint part: every one of its 2 trials "
                                               "failed") and "benchmark data unreadable" in err[0]


@pytest.mark.slow
def test_flagship_failure_in_the_hardware_part_exits_non_zero_with_one_line(tmp_path, monkeypatch, capsys):
    def broken(*a, **k):
        raise ZeroDivisionError("sweep broke")
    monkeypatch.setattr("backend.sweep", broken)
    assert main(["search", "flagship", "--trials", "2", "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["catx search: error: flagship hardware part: ZeroDivisionError: sweep broke"]
