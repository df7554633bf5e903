"""Parallel trials on a local Dask cluster give the inline results; the CLI runs, lists and rejects cleanly."""

from __future__ import annotations

import os

import pytest
import yaml
from searchkit import gemm_study

import search
from search.cli import main
from search.evaluate import Evaluator


def test_dask_workers_match_inline_evaluation(tmp_path):
    d = gemm_study(optimizer={"kind": "random", "trials": 10, "seed": 9, "workers": 2})
    st = search.run(d, out=tmp_path)
    assert len(st.trials) == 10 and st.info["workers"] == 2
    assert any(not t.worker.endswith(f":{os.getpid()}") for t in st.trials)
    ev = Evaluator(search.load(d))
    for t in st.trials:
        assert ev(t.config).metrics == pytest.approx(t.metrics, rel=1e-12)


def test_cli_search_results_and_errors(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(gemm_study()))
    out = tmp_path / "run"
    assert main(["search", str(path), "--trials", "6", "--out", str(out), "--quiet", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert "Pareto front" in text and "best design per objective" in text
    assert (out / "front.png").stat().st_size > 0 and (out / "summary.json").exists()
    assert main(["results", str(out), "--no-plots", "--trials"]) == 0
    assert "6 trials" in capsys.readouterr().out
    bad = gemm_study()
    bad["hardware"]["knobs"]["pe_depth"] = [1]
    path.write_text(yaml.safe_dump(bad))
    assert main(["search", str(path), "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "hardware.knobs.pe_depth" in capsys.readouterr().err
    assert main(["results", str(tmp_path / "nothing")]) == 2


def test_existing_dask_scheduler_by_address(tmp_path):
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        d = gemm_study(optimizer={"kind": "smac", "trials": 8, "seed": 2})
        st = search.run(d, out=tmp_path, scheduler=cluster.scheduler_address)
    assert len(st.trials) == 8 and st.info["workers"] == 1
    assert all(not t.worker.endswith(f":{os.getpid()}") for t in st.trials)
