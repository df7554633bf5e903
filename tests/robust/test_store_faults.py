"""One writer per study, and a damaged or missing store on --resume is a StoreError naming the file: never a silent
restart from trial 0, never a raw sqlite3 or JSON error."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import search
from search import StoreError
from search.store import FILE, LOCK, Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from searchkit import gemm_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _study(trials=6):
    doc = gemm_study(optimizer={"kind": "random", "trials": trials, "seed": 2})
    doc["constraints"] = []
    return doc


@pytest.fixture()
def done(tmp_path):
    """A finished 6-trial study in tmp_path/run."""
    out = tmp_path / "run"
    search.run(_study(), out=out)
    return out


def test_second_writer_gets_the_holders_pid(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from search.store import Store
        s = Store({str(tmp_path)!r})
        print("locked", flush=True)
        sys.stdin.readline()
        s.close()
        """)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=f"another process \\(PID {holder.pid}\\) is writing this study"):
            search.run(_study(), out=tmp_path)
        with pytest.raises(StoreError, match=f"PID {holder.pid}"):
            Store(tmp_path)
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    st = search.run(_study(), out=tmp_path)           # the lock goes with its holder
    assert len(st.trials) == 6


def test_lock_is_released_on_close_and_readers_need_none(done):
    st = search.Study.load(done)                       # reading never takes the lock
    assert len(st.trials) == 6
    w = Store(done)
    assert search.Study.load(done).trials == st.trials
    w.close()
    Store(done).close()                                # released: a new writer gets it
    assert (done / LOCK).is_file()


@pytest.mark.parametrize("damage,message", [
    ("missing", "--resume, but there is no results store to resume"),
    ("zero bytes", "--resume, but there is no results store to resume"),
    ("no tables", "has no table 'meta', so it is not a CATX results store"),
    ("no study", "--resume, but there is a results store that holds no study"),
    ("missing column", r"table 'trials' lacks columns \['worker'\]"),
    ("not a database", "file is not a database"),
])
def test_resume_refuses_a_store_it_cannot_continue(done, damage, message):
    db = done / FILE
    if damage == "missing":
        db.unlink()
    elif damage == "zero bytes":
        db.write_bytes(b"")
    elif damage == "no tables":
        con = sqlite3.connect(db)
        con.executescript("DROP TABLE trials; DROP TABLE meta; CREATE TABLE other (x);")
        con.close()
    elif damage == "no study":
        con = sqlite3.connect(db)
        con.executescript("DELETE FROM meta; DELETE FROM trials;")
        con.close()
    elif damage == "missing column":
        con = sqlite3.connect(db)
        con.executescript("ALTER TABLE trials DROP COLUMN worker;")
        con.close()
    elif damage == "not a database":
        db.write_bytes(b"this is not sqlite" * 100)
    for wal in done.glob(FILE + "-*"):
        wal.unlink()
    with pytest.raises(StoreError, match=message) as e:
        search.run(_study(), out=done, resume=True)
    assert str(done) in str(e.value)


def test_zeroed_page_is_an_integrity_error(done):
    db = done / FILE
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(db.read_bytes())
    assert len(data) >= 3 * page
    data[page:2 * page] = bytes(page)                   # page 2: the first table's b-tree
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=str(db)):
        search.Study.load(done)
    with pytest.raises(StoreError, match=str(db)):
        search.run(_study(), out=done, resume=True)


@pytest.mark.parametrize("column,value,message", [
    ("metrics", "{not json", r"trial 3 column 'metrics'.*not valid JSON"),
    ("metrics", '{"carbon_kg": "heavy"}', r"trial 3: metrics \['carbon_kg'\] are not numbers"),
    ("config", "[1, 2]", r"trial 3 column 'config'.*must be a mapping"),
    ("eval_s", "'slow'", r"trial 3: column 'eval_s' holds 'slow'"),
])
def test_malformed_rows_are_store_errors(done, column, value, message):
    con = sqlite3.connect(done / FILE)
    quoted = value if column == "eval_s" else "'" + value.replace("'", "''") + "'"
    con.execute(f"UPDATE trials SET {column} = {quoted} WHERE id = 3")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=message):
        search.Study.load(done)
    with pytest.raises(StoreError, match=message):
        search.run(_study(), out=done, resume=True)


def test_malformed_run_info(done):
    con = sqlite3.connect(done / FILE)
    con.execute("UPDATE meta SET value = '[oops' WHERE key = 'run_info'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="meta 'run_info'"):
        search.Study.load(done)


def test_a_directory_in_place_of_the_store(tmp_path):
    (tmp_path / FILE).mkdir()
    with pytest.raises(StoreError, match="is a directory or device"):
        search.run(_study(), out=tmp_path)


def test_results_of_an_empty_store(tmp_path):
    (tmp_path / FILE).write_bytes(b"")
    with pytest.raises(StoreError, match="no results store"):
        search.Study.load(tmp_path)


def test_good_resume_still_continues(done):
    st = search.run(_study(trials=9), out=done, resume=True)
    assert [t.id for t in st.trials] == list(range(1, 10)) and st.info["resumed_from"] == 6
