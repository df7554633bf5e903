"""The SQLite results store: the study definition and every finished trial, committed the moment it finishes.

One file per study (``DIR/study.sqlite``). A trial row holds its configuration, all metrics, the per-op summary,
timing and any error. Each insert is its own transaction, so a study killed at any moment keeps every trial that
had finished; ``--resume`` reads them back and continues.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ir.files import parse_json

from .errors import StoreError
from .study import StudySpec, from_dict

FILE = "study.sqlite"
LOCK = "study.lock"             # advisory lock of the one writer; holds its PID
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
COLUMNS = {"meta": ("key", "value"),
           "trials": ("id", "config_key", "config", "fidelity", "parent", "status", "metrics", "violations", "per_op",
                      "origin", "eval_s", "finished_at", "worker", "error")}


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
    """Open (or create) the store of a study in ``directory``.

    A writer (the default) holds an advisory lock on ``DIR/study.lock`` until ``close``: a second process that
    tries to write the same study gets a StoreError naming the holder's PID. An existing file is checked first
    (``PRAGMA integrity_check``, the expected tables and columns); every database or JSON fault afterwards is a
    StoreError naming the file, never a raw sqlite3 or JSON error.
    """

    def __init__(self, directory: str | Path, writer: bool = True):
        self.dir = Path(directory)
        self.path = self.dir / FILE
        self._lock_fd: int | None = None
        self._last_id: int | None = None
        try:
            if writer:
                self.dir.mkdir(parents=True, exist_ok=True)
                self._lock()
            if self.path.exists() and not self.path.is_file():
                raise OSError(f"{FILE} is a directory or device, not a file")
            self.fresh = not self.path.is_file() or self.path.stat().st_size == 0
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as e:
            self._unlock()
            raise StoreError(f"{self.dir}: cannot open the results store ({getattr(e, 'strerror', None) or e})") \
                from None
        try:
            if not self.fresh:
                self.verify()
            if writer:
                self._sql("set up", "PRAGMA journal_mode=WAL")
                self._sql("set up", "PRAGMA synchronous=NORMAL")
                self._script(SCHEMA)
        except StoreError:
            self.close()
            raise

    # -- locking and checks --------------------------------------------------------------------------------
    def _lock(self) -> None:
        lock = self.dir / LOCK
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(f"{self.dir}: another process (PID {holder}) is writing this study (lock {lock}); "
                             "wait for it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _damaged(self, what: str, detail: Any) -> StoreError:
        return StoreError(f"{self.path}: {what} failed ({detail}); the file is damaged or not a CATX results "
                          "store: restore it or choose another --out")

    def _sql(self, what: str, sql: str, params: tuple = ()) -> list[tuple]:
        """The rows of one statement (a damaged page can fail while rows are fetched, so fetch here)."""
        try:
            cur = self.db.execute(sql, params)
            rows = cur.fetchall()
            self._last_id = cur.lastrowid
            return rows
        except sqlite3.Error as e:
            raise self._damaged(what, e) from None

    def _script(self, sql: str) -> None:
        try:
            self.db.executescript(sql)
        except sqlite3.Error as e:
            raise self._damaged("setting up the tables", e) from None

    def verify(self) -> None:
        """StoreError unless the file passes SQLite's integrity check and holds the expected tables and columns."""
        rows = self._sql("the integrity check", "PRAGMA integrity_check")
        if rows != [("ok",)]:
            raise StoreError(f"{self.path}: fails SQLite's integrity check ({'; '.join(str(r[0]) for r in rows[:3])});"
                             " restore it or choose another --out")
        for table, cols in COLUMNS.items():
            have = {r[1] for r in self._sql("reading the schema", f"PRAGMA table_info({table})")}
            if not have:
                raise StoreError(f"{self.path}: has no table {table!r}, so it is not a CATX results store; "
                                 "choose another --out")
            missing = sorted(set(cols) - have)
            if missing:
                raise StoreError(f"{self.path}: table {table!r} lacks columns {missing}; it was written by another "
                                 "program or version")
        odd = self._sql("checking trials", "SELECT id FROM trials WHERE fidelity NOT IN ('low', 'high') OR status "
                                           "NOT IN ('ok', 'infeasible', 'error') ORDER BY id LIMIT 5")
        if odd:
            raise StoreError(f"{self.path}: trials {[r[0] for r in odd]} have a fidelity other than low/high or a "
                             "status other than ok/infeasible/error; the file was altered")

    # -- study ---------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._sql("reading meta", "SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def meta_json(self, key: str, default: Any = None, expect: type | None = dict) -> Any:
        """A meta value stored as JSON (``default`` when absent); StoreError naming the key when malformed."""
        text = self.meta(key)
        if text is None:
            return default
        return parse_json(text, f"{self.path} (meta {key!r})", "stored value", StoreError, expect=expect,
                          finite=False)

    def set_meta(self, key: str, value: str) -> None:
        self._sql("writing meta", "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def study(self) -> StudySpec | None:
        doc = self.meta_json("study")
        return from_dict(doc, str(self.path)) if doc is not None else None

    def begin(self, study: StudySpec, resume: bool) -> None:
        """Record the study; on a store that holds trials, demand ``resume`` and the same study digest. Resuming
        needs a store that holds a study: a missing, empty or study-less store is an error, never a restart."""
        old = self.meta("digest")
        if resume and (self.fresh or old is None):
            state = "no results store" if self.fresh else "a results store that holds no study"
            raise StoreError(f"{self.path}: --resume, but there is {state} to resume; run without --resume to start "
                             "the study")
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
        self._sql(
            "storing a trial",
            "INSERT INTO trials (config_key, config, fidelity, parent, status, metrics, violations, per_op, origin, "
            "eval_s, finished_at, worker, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t.key, json.dumps(t.config, sort_keys=True), t.fidelity, t.parent, t.status, json.dumps(t.metrics),
             json.dumps(t.violations), json.dumps(t.per_op), t.origin, float(t.eval_s), t.finished_at, t.worker,
             t.error))
        t.id = self._last_id
        return t.id

    def add_many(self, trials: list[Trial]) -> None:
        """Several trials in one transaction: a kill midway stores all of them or none."""
        self.db.execute("BEGIN")
        try:
            for t in trials:
                self.add(t)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def count(self, fidelity: str = "low") -> int:
        return self._sql("counting trials", "SELECT COUNT(*) FROM trials WHERE fidelity = ?", (fidelity,))[0][0]

    def trials(self, fidelity: str | None = "low") -> list[Trial]:
        q = "SELECT id, config, fidelity, parent, status, metrics, violations, per_op, origin, eval_s, " \
            "finished_at, worker, error FROM trials"
        rows = self._sql("reading trials", q + (" WHERE fidelity = ? ORDER BY id" if fidelity else " ORDER BY id"),
                         (fidelity,) if fidelity else ())
        return [self._trial(r) for r in rows]

    def _trial(self, r: tuple) -> Trial:
        def doc(i: int, column: str) -> dict:
            if not isinstance(r[i], str):
                raise StoreError(f"{self.path}: trial {r[0]}: column {column!r} holds {type(r[i]).__name__}, not JSON")
            return parse_json(r[i], f"{self.path}: trial {r[0]} column {column!r}", "stored value", StoreError,
                              expect=dict, finite=False)
        kinds = ((2, "fidelity", str), (4, "status", str), (8, "origin", str), (9, "eval_s", (int, float)),
                 (10, "finished_at", (int, float)), (11, "worker", str), (12, "error", str))
        for i, column, kind in kinds:
            if not isinstance(r[i], kind):
                raise StoreError(f"{self.path}: trial {r[0]}: column {column!r} holds {r[i]!r:.40}, the wrong type")
        metrics = doc(5, "metrics")
        bad = [k for k, v in metrics.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
        if bad:
            raise StoreError(f"{self.path}: trial {r[0]}: metrics {bad[:3]} are not numbers")
        return Trial(id=r[0], config=doc(1, "config"), fidelity=r[2], parent=r[3], status=r[4], metrics=metrics,
                     violations=doc(6, "violations"), per_op=doc(7, "per_op"), origin=r[8], eval_s=r[9],
                     finished_at=r[10], worker=r[11], error=r[12])

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        self._unlock()


def open_existing(directory: str | Path) -> Store:
    """A store that must already hold a study (for ``catx results``)."""
    p = Path(directory) / FILE
    if not p.is_file() or p.stat().st_size == 0:
        raise StoreError(f"{directory}: no results store ({FILE}) here; run `catx search ... --out {directory}`")
    st = Store(directory, writer=False)
    if st.meta("study") is None:
        st.close()
        raise StoreError(f"{p}: holds no study (it was created but never started); run `catx search ... --out "
                         f"{directory}`")
    return st
