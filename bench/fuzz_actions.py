"""What a fuzz case runs, inside a worker process: write its input, run CATX on it, and classify what happened.

Classes: ``ok`` (accepted; every number in the output finite and >= 0), ``typed`` (a one-line CatxError of at
most ``MAX_MESSAGE_CHARS`` characters, or an argparse usage error), ``untyped`` (any other exception, or a typed
error that is not one short line), ``wrong`` (accepted, but the output holds a negative, NaN or inf number, or a
resumed study lost trials). ``timeout`` and ``crash`` are decided by the parent (bench/fuzz.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
STUDY_TRIALS = 6            # trials in the seed store
RESUME_TRIALS = 8           # a resumed fault case asks for this many


class Typed(Exception):
    """A typed refusal seen from outside (the CLI's exit status 2 with its one line)."""


# -- seeds (built once per run, in a worker) -------------------------------------------------------------------

def make_seeds(seed_dir: str) -> dict[str, Any]:
    """Write the seed files the cases refer to; return the ONNX and IR seeds for the generators."""
    from fuzz_cases import onnx_seeds, study_seeds, tech_seed, trace_seed

    import backend  # noqa: F401  (warm)
    import frontend
    import ir
    import search

    d = Path(seed_dir)
    d.mkdir(parents=True, exist_ok=True)
    onnx = onnx_seeds()
    irs = {"gemm": ir.to_json(frontend.gemm_graph(197, 768, 768))}
    for name, data in onnx.items():
        (d / f"{name}.onnx").write_bytes(data)
        irs[name] = ir.to_json(frontend.load_onnx(d / f"{name}.onnx", dims={"batch": 2}))
    (d / "seed.onnx").write_bytes(onnx["mlp"])
    (d / "seed.json").write_text(irs["mlp"])
    shutil.copy(ROOT / "backend" / "data" / "presets" / "gpu-like.yaml", d / "hw.yaml")
    shutil.copy(ROOT / "backend" / "data" / "carbon" / "scenarios" / "catx-default.yaml", d / "scenario.yaml")
    (d / "tech.yaml").write_text(yaml.safe_dump(tech_seed()))
    (d / "trace.csv").write_bytes(trace_seed())
    study = study_seeds()["edge-lists"]
    study["optimizer"]["trials"] = 2
    (d / "study.yaml").write_text(yaml.safe_dump(study))
    store_doc = study_seeds()["edge-lists"]
    store_doc["optimizer"]["trials"] = STUDY_TRIALS
    (d / "store-study.yaml").write_text(yaml.safe_dump(store_doc))
    st = search.run(store_doc, out=d / "store")
    assert len(st.trials) == STUDY_TRIALS
    return {"onnx": onnx, "ir": irs, "store_configs": [t.config for t in st.trials]}


# -- helpers ---------------------------------------------------------------------------------------------------

_CACHE: dict[str, Any] = {}


def _graph():
    if "graph" not in _CACHE:
        import frontend
        _CACHE["graph"] = frontend.gemm_graph(197, 768, 768)
    return _CACHE["graph"]


def _estimate():
    if "estimate" not in _CACHE:
        import backend
        _CACHE["estimate"] = backend.estimate(_graph(), backend.presets.get("catransformers-edge"))
    return _CACHE["estimate"]


def _input_file(tmp: Path, name: str, payload: dict) -> Path:
    """The case's input file, or a path with a fault (missing, a directory, a device, a FIFO, a link loop)."""
    fault = payload.get("path_fault")
    p = tmp / name
    if fault is None:
        p.write_bytes(payload["data"])
    elif fault == "directory":
        p.mkdir()
    elif fault == "device":
        p = Path("/dev/zero")
    elif fault == "fifo":
        os.mkfifo(p)
    elif fault == "symlink loop":
        os.symlink(tmp / "loop-b", p)
        os.symlink(p, tmp / "loop-b")
    elif fault == "unreadable":
        p.write_bytes(b"a: 1\n")
        p.chmod(0)
    return p


def _estimate_output(est) -> dict:
    return json.loads(est.to_json())


# -- one action per family ---------------------------------------------------------------------------------------

def act_hardware(payload: dict, tmp: Path, seeds: Path) -> Any:
    import backend
    hw = backend.Hardware.from_yaml(_input_file(tmp, "hw.yaml", payload))
    out = {"area_mm2": hw.area_mm2, "peak_tops": hw.peak_tops, "leakage_power_w": hw.leakage_power_w}
    return {**out, "estimate": _estimate_output(backend.estimate(_graph(), hw))}


def act_scenario(payload: dict, tmp: Path, seeds: Path) -> Any:
    import ir
    from backend.carbon import carbon, with_uncertainty
    from backend.carbon.scenario import Scenario
    sc = Scenario.from_yaml(_input_file(tmp, "scenario.yaml", payload))
    mb = ir.totals(_graph()).param_bytes
    rep = carbon(_estimate(), sc, model_bytes=mb)
    unc = with_uncertainty(_estimate(), sc, samples=300, seed=1, model_bytes=mb)
    return {"report": rep.to_dict(), "text": rep.format(), "uncertain": unc.to_dict(), "utext": unc.format()}


def act_study(payload: dict, tmp: Path, seeds: Path) -> Any:
    import search
    p = _input_file(tmp, "study.yaml", payload)
    spec = search.load(p)
    o = spec.optimizer
    trials = 3 if isinstance(o.trials, int) and o.trials > 3 else None          # keep the case fast
    workers = 1 if isinstance(o.workers, int) and o.workers > 1 else None      # no Dask cluster per case
    st = search.run(p, out=tmp / "run", trials=trials, workers=workers)
    return {"trials": [t.metrics for t in st.trials if t.ok], "statuses": [t.status for t in st.trials]}


def act_tech(payload: dict, tmp: Path, seeds: Path) -> Any:
    import backend
    p = _input_file(tmp, "tech.yaml", payload)
    over = backend.tech.load_overrides(p)
    base = backend.presets.get("catransformers-edge")
    hw = backend.Hardware.from_dict({**base.model_dump(mode="json"), "tech_overrides": over}, str(p))
    return {"estimate": _estimate_output(backend.estimate(_graph(), hw))}


def act_trace(payload: dict, tmp: Path, seeds: Path) -> Any:
    from backend.carbon import carbon
    from backend.carbon.scenario import Scenario
    trace = _input_file(tmp, "trace.csv", payload)
    doc = {"name": "trace", "deployment": {"lifetime_years": 3, "inferences_per_s": 1, "active_hours_per_day": 6,
                                           "active_start_hour": 8, "grid": {"trace": str(trace)}}}
    (tmp / "sc.yaml").write_text(yaml.safe_dump(doc))
    rep = carbon(_estimate(), Scenario.from_yaml(tmp / "sc.yaml"))
    return {"report": rep.to_dict(), "text": rep.format()}


def act_ir(payload: dict, tmp: Path, seeds: Path) -> Any:
    import backend
    import ir
    g = ir.load(_input_file(tmp, "g.json", payload))
    t = ir.totals(g)
    est = backend.estimate(g, backend.presets.get("catransformers-edge"))
    return {"macs": t.macs, "vector_ops": t.vector_ops, "param_bytes": t.param_bytes, "estimate": _estimate_output(est)}


def act_onnx(payload: dict, tmp: Path, seeds: Path) -> Any:
    import backend
    import frontend
    import ir
    g = frontend.load_onnx(_input_file(tmp, "m.onnx", payload), dims=payload.get("dims") or {})
    t = ir.totals(g)
    est = backend.estimate(g, backend.presets.get("catransformers-edge"))
    return {"macs": t.macs, "vector_ops": t.vector_ops, "param_bytes": t.param_bytes, "estimate": _estimate_output(est)}


def _fill(arg: str, tmp: Path, seeds: Path) -> str:
    subs = {"{ir}": seeds / "seed.json", "{onnx}": seeds / "seed.onnx", "{hw}": seeds / "hw.yaml",
            "{tech}": seeds / "tech.yaml", "{scenario}": seeds / "scenario.yaml", "{study}": seeds / "study.yaml",
            "{dir}": tmp / "adir", "{missing}": tmp / "missing", "{out}": tmp / "out", "{store}": tmp / "store"}
    for k, v in subs.items():
        arg = arg.replace(k, str(v))
    return arg


def act_cli(payload: dict, tmp: Path, seeds: Path) -> Any:
    from search.cli import build_parser, main
    (tmp / "adir").mkdir()
    (tmp / "out").mkdir()
    shutil.copytree(seeds / "store", tmp / "store")
    argv = [_fill(a, tmp, seeds) for a in payload["argv"]]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as e:
            if e.code == 2:
                raise Typed("usage: " + err.getvalue().strip().splitlines()[-1]) from None
            return {"text": out.getvalue()}
        rc = main(argv)
    if rc == 2:
        lines = err.getvalue().strip().splitlines()
        if len(lines) != 1:
            raise RuntimeError(f"exit 2 with {len(lines)} lines on stderr: {err.getvalue()[:300]!r}")
        raise Typed(lines[0])
    if rc not in (0, 3):
        raise RuntimeError(f"exit status {rc}: {err.getvalue()[-300:]!r}")
    docs = []
    for f in sorted((tmp / "out").glob("*.json")):
        docs.append(json.loads(f.read_text()))
    return {"text": out.getvalue(), "json": docs}


def _damage_store(payload: dict, run: Path) -> subprocess.Popen | None:
    """Apply one fault to the copied store; returns a process holding the lock for the 'locked' fault."""
    db = run / "study.sqlite"
    fault, offset = payload["fault"], payload["offset"]
    row = payload["row"]

    def sql(statement: str) -> None:
        con = sqlite3.connect(db)
        con.executescript(statement)
        con.close()

    data = db.read_bytes()
    if fault == "flip":
        b = bytearray(data)
        start = int(offset * len(b))
        for k in range(payload["flips"]):
            j = (start + 977 * k) % len(b)
            b[j] ^= 0x5A
        db.write_bytes(bytes(b))
    elif fault == "truncate":
        db.write_bytes(data[:int(offset * len(data))])
    elif fault == "zero page":
        page = 4096
        n = max(1, len(data) // page)
        k = int(offset * n)
        db.write_bytes(data[:k * page] + bytes(page) + data[(k + 1) * page:])
    elif fault == "zero bytes":
        db.write_bytes(b"")
    elif fault == "missing":
        db.unlink()
    elif fault == "garbage file":
        db.write_bytes(os.urandom(4096))
    elif fault == "directory":
        db.unlink()
        db.mkdir()
    elif fault == "junk wal":
        (run / "study.sqlite-wal").write_bytes(os.urandom(8192))
    elif fault == "bad metrics json":
        sql(f"UPDATE trials SET metrics = '{{\"carbon_kg\": ' WHERE id = {row}")
    elif fault == "metrics not numbers":
        sql(f"UPDATE trials SET metrics = '{{\"carbon_kg\": \"heavy\", \"latency_s\": null}}' WHERE id = {row}")
    elif fault == "config not a mapping":
        sql(f"UPDATE trials SET config = '[1, 2, 3]' WHERE id = {row}")
    elif fault == "eval_s text":
        sql(f"UPDATE trials SET eval_s = 'slow' WHERE id = {row}")
    elif fault == "null status":
        sql(f"UPDATE trials SET status = '', fidelity = 'weird' WHERE id = {row}")
    elif fault == "huge row":
        sql(f"UPDATE trials SET per_op = '{{\"x\": {'1' * 100_000}}}' WHERE id = {row}")
    elif fault == "drop table":
        sql("DROP TABLE trials")
    elif fault == "drop column":
        sql("ALTER TABLE trials DROP COLUMN origin")
    elif fault == "no study":
        sql("DELETE FROM meta")
    elif fault == "bad study json":
        sql("UPDATE meta SET value = '{\"name\": ' WHERE key = 'study'")
    elif fault == "bad run_info":
        sql("UPDATE meta SET value = '[1, 2' WHERE key = 'run_info'")
    elif fault == "locked":
        code = ("import sys, time\nfrom search.store import Store\ns = Store(sys.argv[1])\n"
                "print('locked', flush=True)\ntime.sleep(120)\n")
        proc = subprocess.Popen([sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True,
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout.readline().strip() == "locked"
        return proc
    return None


def act_store(payload: dict, tmp: Path, seeds: Path) -> Any:
    import search
    run = tmp / "run"
    shutil.copytree(seeds / "store", run)
    holder = _damage_store(payload, run)
    try:
        st = search.Study.load(run)
        out: dict[str, Any] = {"loaded": [t.metrics for t in st.trials]}
        if payload["resume"]:
            st = search.run(seeds / "store-study.yaml", out=run, resume=True, trials=RESUME_TRIALS)
            ids = [t.id for t in st.trials]
            if ids != list(range(1, RESUME_TRIALS + 1)):
                out["_violations"] = [f"resumed study has trial ids {ids}, expected 1..{RESUME_TRIALS}"]
            out["resumed"] = [t.metrics for t in st.trials]
        return out
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()


def act_sizes(payload: dict, tmp: Path, seeds: Path) -> Any:
    import backend
    import frontend
    m, k, n = payload["dims"]
    est = backend.estimate(frontend.gemm_graph(m, k, n), backend.presets.get(payload["hardware"]))
    out = {"estimate": _estimate_output(est)}
    if est.macs != m * k * n:
        out["_violations"] = [f"MACs {est.macs} != M*K*N = {m * k * n}"]
    return out


ACTIONS = {"hardware": act_hardware, "scenario": act_scenario, "study": act_study, "tech": act_tech,
           "trace": act_trace, "ir": act_ir, "onnx": act_onnx, "cli": act_cli, "store": act_store,
           "sizes": act_sizes}


# -- oracle and classification ---------------------------------------------------------------------------------

_BAD_TOKEN = re.compile(r"(?<![\w.])(-?nan|-?inf(inity)?)(?![\w])|(?:^|[\s(=])-\d", re.IGNORECASE | re.MULTILINE)


def bad_numbers(x: Any, path: str = "") -> list[str]:
    """Where an output holds a negative, NaN or inf number (in data, or written in text)."""
    if isinstance(x, dict):
        return [b for k, v in x.items() if k != "_violations" for b in bad_numbers(v, f"{path}.{k}")] + \
            [str(v) for v in x.get("_violations", [])]
    if isinstance(x, (list, tuple)):
        return [b for i, v in enumerate(x) for b in bad_numbers(v, f"{path}[{i}]")]
    if isinstance(x, bool) or x is None:
        return []
    if isinstance(x, (int, float)):
        return [] if math.isfinite(x) and x >= 0 else [f"{path} = {x!r}"]
    if isinstance(x, str) and path.endswith(("text", "utext")):
        m = _BAD_TOKEN.search(x)
        return [f"{path} prints {x[max(0, m.start() - 40):m.end() + 20]!r}"] if m else []
    return []


def _where(tb) -> str:
    """The innermost frame inside this repository (file:line), for triage."""
    frames = [f for f in traceback.extract_tb(tb) if str(ROOT) in f.filename and "/bench/" not in f.filename]
    f = frames[-1] if frames else (traceback.extract_tb(tb)[-1] if tb else None)
    return f"{Path(f.filename).relative_to(ROOT) if str(ROOT) in f.filename else Path(f.filename).name}:{f.lineno}" \
        if f else "?"


def run_case(family: str, payload: dict, seeds: str) -> dict[str, Any]:
    """Run one case in a fresh temporary folder; return its class and what was seen."""
    from ir.errors import MAX_MESSAGE_CHARS, CatxError

    tmp = Path(tempfile.mkdtemp(prefix=f"fuzz-{family}-"))
    cwd = os.getcwd()
    t0 = time.perf_counter()
    result: dict[str, Any]
    try:
        os.chdir(tmp)
        out = ACTIONS[family](payload, tmp, Path(seeds))
        bad = bad_numbers(out)
        result = {"class": "wrong", "detail": "; ".join(bad)[:400]} if bad else {"class": "ok"}
    except (CatxError, Typed) as e:
        msg = str(e)
        one = "\n" not in msg and len(msg) <= MAX_MESSAGE_CHARS + 200
        result = {"class": "typed" if one else "untyped", "error": type(e).__name__, "detail": msg[:300]}
        if not one:
            result["detail"] = f"not one short line ({len(msg)} chars): {msg[:200]!r}"
    except BaseException as e:  # noqa: BLE001  (any other exception is the finding)
        if isinstance(e, KeyboardInterrupt):
            raise
        result = {"class": "untyped", "error": type(e).__name__, "detail": str(e)[:300],
                  "where": _where(e.__traceback__)}
    finally:
        os.chdir(cwd)
        for p in tmp.rglob("*"):
            with contextlib.suppress(OSError):
                if not p.is_symlink():
                    p.chmod(0o700)
        shutil.rmtree(tmp, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


# -- the worker process ------------------------------------------------------------------------------------------

def worker_main(conn, seeds: str, memory_gb: float) -> None:
    """Serve cases from the parent until it sends None."""
    import resource
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["CATX_CACHE"] = tempfile.mkdtemp(prefix="fuzz-cache-")
    if memory_gb:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from tvm.relax.frontend.onnx import from_onnx  # noqa: F401

    import backend  # noqa: F401  (warm the imports before the first case's clock starts)
    import frontend  # noqa: F401
    import search  # noqa: F401
    import search.engine  # noqa: F401
    _estimate()
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            break
        if msg[0] == "setup":
            conn.send(make_seeds(msg[1]))
            continue
        family, payload = msg
        conn.send(run_case(family, payload, seeds))
