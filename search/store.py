"""The SQLite results store: the study definition and every finished trial, committed the moment it finishes.

One file per study (``DIR/study.sqlite``). A trial row holds its configuration, all metrics, the per-op summary,
timing and any error. Each insert is its own transaction, so a study killed at any moment keeps every trial that
had finished; ``--resume`` reads them back and continues.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StoreError
from .study import StudySpec, from_dict

FILE = "study.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,          -- 1, 2, ... in the order trials finished
    config_key TEXT NOT NULL,
    config TEXT NOT NULL,            -- JSON: searched knob values
    fidelity TEXT NOT NULL,          -- 'low' for every trial; 'high' for promoted re-evaluations
    parent INTEGER,                  -- the trial a high-fidelity row re-evaluates
    status TEXT NOT NULL,            -- ok | infeasible (a constraint missed) | error
    metrics TEXT NOT NULL,           -- JSON: metric -> value (SI units)
    violations TEXT NOT NULL,        -- JSON: constraint metric -> relative violation
    per_op TEXT NOT NULL,            -- JSON: per-op summary (top ops, totals by kind)
    origin TEXT NOT NULL,            -- who proposed it: sobol, smac, random, ...
    eval_s REAL NOT NULL,            -- seconds the evaluation took
    finished_at REAL NOT NULL,       -- unix time the trial was stored
    worker TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_key ON trials (config_key, fidelity);
"""


@dataclass
class Trial:
    """One finished trial as stored."""

    config: dict[str, Any]
    status: str
    metrics: dict[str, float]
    violations: dict[str, float] = field(default_factory=dict)
    per_op: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    eval_s: float = 0.0
    worker: str = ""
    error: str = ""
    fidelity: str = "low"
    parent: int | None = None
    id: int | None = None
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def key(self) -> str:
        return json.dumps(self.config, sort_keys=True)


class Store:
    """Open (or create) the store of a study in ``directory``."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.path = self.dir / FILE
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"{self.dir}: cannot open the results store ({e})") from None

    # -- study ---------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def study(self) -> StudySpec | None:
        text = self.meta("study")
        return from_dict(json.loads(text), str(self.path)) if text else None

    def begin(self, study: StudySpec, resume: bool) -> None:
        """Record the study; on a store that holds trials, demand ``resume`` and the same study digest."""
        old = self.meta("digest")
        n = self.count()
        if old is not None and n:
            if not resume:
                raise StoreError(f"{self.path} already holds {n} trials of study {self.meta('name')!r}; "
                                 "pass --resume to continue it, or choose another --out directory")
            if old != study.digest():
                raise StoreError(f"{self.path} holds study {self.meta('name')!r} with a different definition "
                                 f"(digest {old} vs {study.digest()}); resume it with its own definition")
        self.set_meta("study", study.to_json())
        self.set_meta("digest", study.digest())
        self.set_meta("name", study.name)
        if self.meta("created_at") is None:
            self.set_meta("created_at", repr(time.time()))

    # -- trials --------------------------------------------------------------------------------------------
    def add(self, t: Trial) -> int:
        t.finished_at = t.finished_at or time.time()
        cur = self.db.execute(
            "INSERT INTO trials (config_key, config, fidelity, parent, status, metrics, violations, per_op, origin, "
            "eval_s, finished_at, worker, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t.key, json.dumps(t.config, sort_keys=True), t.fidelity, t.parent, t.status, json.dumps(t.metrics),
             json.dumps(t.violations), json.dumps(t.per_op), t.origin, float(t.eval_s), t.finished_at, t.worker,
             t.error))
        t.id = cur.lastrowid
        return t.id

    def count(self, fidelity: str = "low") -> int:
        return self.db.execute("SELECT COUNT(*) FROM trials WHERE fidelity = ?", (fidelity,)).fetchone()[0]

    def trials(self, fidelity: str | None = "low") -> list[Trial]:
        q = "SELECT id, config, fidelity, parent, status, metrics, violations, per_op, origin, eval_s, " \
            "finished_at, worker, error FROM trials"
        rows = self.db.execute(q + (" WHERE fidelity = ? ORDER BY id" if fidelity else " ORDER BY id"),
                               (fidelity,) if fidelity else ()).fetchall()
        return [Trial(id=r[0], config=json.loads(r[1]), fidelity=r[2], parent=r[3], status=r[4],
                      metrics=json.loads(r[5]), violations=json.loads(r[6]), per_op=json.loads(r[7]), origin=r[8],
                      eval_s=r[9], finished_at=r[10], worker=r[11], error=r[12]) for r in rows]

    def close(self) -> None:
        self.db.close()


def open_existing(directory: str | Path) -> Store:
    """A store that must already hold a study (for ``catx results``)."""
    p = Path(directory) / FILE
    if not p.is_file():
        raise StoreError(f"{directory}: no results store ({FILE}) here; run `catx search ... --out {directory}`")
    return Store(directory)
