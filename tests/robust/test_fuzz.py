"""A fast subset of the fuzz suite (bench/fuzz.py runs 2,100 cases): every family, with a fixed seed; no case may
be untyped, wrong, a timeout or a crash (the backend's huge-size cases included, since its rewrite for issue 9)."""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _fuzz():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("catx_bench_fuzz", BENCH / "fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fuzz_subset_has_no_untyped_wrong_timeout_or_crash(tmp_path):
    fuzz = _fuzz()
    ctx = mp.get_context("spawn")
    seeds, worker = fuzz.setup_seeds(ctx, str(tmp_path / "seeds"), memory_gb=8)
    cases = fuzz.make_cases(45, seed=11, seeds=seeds)
    results = fuzz.run_cases(cases, str(tmp_path / "seeds"), workers=1, timeout_s=120, memory_gb=8, reuse=[worker])
    assert len(results) == len(cases) and {r["family"] for r in results} == set(fuzz.WEIGHTS)
    counts = fuzz.table(results)["total"]
    assert counts["ok"] > 0 and counts["typed"] > 0, counts        # the oracle and the refusals both ran
    bad = fuzz.findings(results)
    assert not bad, bad
