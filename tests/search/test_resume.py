"""SIGKILL a running study, then resume it: every finished trial is still there and the final count is exact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml
from searchkit import gemm_study

import search

ROOT = Path(__file__).resolve().parents[2]


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_then_resume(tmp_path):
    total = 60
    doc = gemm_study(optimizer={"kind": "smac", "trials": total, "seed": 4})
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "search", str(path), "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = out / "study.sqlite"
    deadline = time.time() + 120
    while _count(db) < 12 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"study ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = search.Study.load(out).trials
    assert 12 <= len(before) < total
    st = search.run(path, out=out, resume=True)
    assert len(st.trials) == total
    assert [t.id for t in st.trials] == list(range(1, total + 1))
    for old, new in zip(before, st.trials):       # finished trials survive unchanged, in place
        assert (old.id, old.config, old.metrics, old.status) == (new.id, new.config, new.metrics, new.status)
    assert len({t.key for t in st.trials}) == total    # nothing evaluated twice
    assert st.info["resumed_from"] == len(before)
    again = search.run(path, out=out, resume=True)     # a finished study resumes to itself
    assert len(again.trials) == total and again.info["resumed_from"] == total
