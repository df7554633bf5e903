"""Fuzz every input CATX takes and classify each case: ok / typed / untyped / wrong / timeout / crash.

Families: hardware, scenario, study and tech YAML, grid traces, IR JSON, ONNX, CLI arguments and faults in a study
store (bench/fuzz_cases.py makes the cases; bench/fuzz_actions.py runs one in a worker process). Each case runs in
a long-lived worker with a per-case time limit: a case over the limit is a ``timeout`` (the worker is killed and
replaced), a worker that dies is a ``crash``. Targets: 0 untyped, 0 wrong, 0 timeouts, 0 crashes.

    python bench/fuzz.py                          # 2,000+ cases, 2 workers -> bench/results/fuzz.json
    python bench/fuzz.py --cases 200 --families ir,cli --out /tmp/fuzz.json
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fuzz_actions import worker_main  # noqa: E402  (a module, so spawned workers can import it)
from fuzz_cases import LEAD, LEAD_FILES, WEIGHTS, Case, make_cases  # noqa: E402

CLASSES = ("ok", "typed", "untyped", "wrong", "timeout", "crash")
BAD = ("untyped", "wrong", "timeout", "crash")


class Worker:
    """One worker process and the case it is running."""

    def __init__(self, ctx, seeds: str, memory_gb: float):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, seeds, memory_gb), daemon=True)
        self.proc.start()
        child.close()
        self.case: Case | None = None
        self.started = 0.0
        if not self.conn.poll(600) or self.conn.recv() != "ready":
            raise RuntimeError("a fuzz worker did not start within 600 s")

    def send(self, case: Case) -> None:
        self.case, self.started = case, time.perf_counter()
        self.conn.send((case.family, case.payload))

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(10)


def setup_seeds(ctx, seed_dir: str, memory_gb: float) -> tuple[dict, Worker]:
    """Seed files and the seeds the generators need, built in a worker (it imports TVM and runs a small study);
    the worker is returned for ``run_cases`` to reuse."""
    w = Worker(ctx, seed_dir, memory_gb)
    w.conn.send(("setup", seed_dir))
    return w.conn.recv(), w


def run_cases(cases: list[Case], seed_dir: str, workers: int, timeout_s: float, memory_gb: float,
              log: bool = False, reuse: list[Worker] = ()) -> list[dict[str, Any]]:
    """Run every case; each result holds the case's family, id, mutation and class."""
    ctx = mp.get_context("spawn")
    pool = list(reuse)[:workers] + [Worker(ctx, seed_dir, memory_gb) for _ in range(workers - len(reuse[:workers]))]
    todo = list(reversed(cases))
    results: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def record(w: Worker, res: dict) -> None:
        c = w.case
        results.append({"family": c.family, "id": c.id, "what": c.what, "tags": c.tags, **res})
        w.case = None
        if log and len(results) % 50 == 0:
            counts = collections.Counter(r["class"] for r in results)
            print(f"{len(results)}/{len(cases)} cases, {time.perf_counter() - t0:.0f} s: {dict(counts)}", flush=True)

    while todo or any(w.case for w in pool):
        for w in pool:
            if w.case is None and todo:
                w.send(todo.pop())
        busy = [w for w in pool if w.case is not None]
        now = time.perf_counter()
        deadline = min(w.started + timeout_s for w in busy)
        ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=max(0.0, deadline - now))
        for i, w in enumerate(pool):
            if w.case is None:
                continue
            if w.conn in ready:
                try:
                    record(w, w.conn.recv())
                    continue
                except (EOFError, OSError):
                    pass
            died = w.proc.sentinel in ready or not w.proc.is_alive()
            late = time.perf_counter() - w.started > timeout_s
            if died or late:
                w.kill()
                code = w.proc.exitcode
                record(w, {"class": "crash" if died and not late else "timeout",
                           "detail": f"worker exit code {code}" if died and not late else f"over {timeout_s:g} s",
                           "seconds": round(time.perf_counter() - w.started, 3)})
                pool[i] = Worker(ctx, seed_dir, memory_gb)
    for w in pool:
        w.conn.send(None)
        w.proc.join(30)
    return results


def table(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in results:
        row = out.setdefault(r["family"], {c: 0 for c in CLASSES})
        row[r["class"]] += 1
    out["total"] = {c: sum(row[c] for row in out.values()) for c in CLASSES}
    return out


def findings(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct bad outcomes: grouped by family, class, exception and place, with a count and one example each."""
    groups: dict[tuple, dict[str, Any]] = {}
    for r in results:
        if r["class"] not in BAD:
            continue
        key = (r["family"], r["class"], r.get("error"), r.get("where") or (r.get("detail") or "")[:60])
        g = groups.setdefault(key, {"family": r["family"], "class": r["class"], "error": r.get("error"),
                                    "where": r.get("where"), "count": 0, "lead": False, "example": r["what"],
                                    "detail": r.get("detail")})
        g["count"] += 1
        g["lead"] = g["lead"] or LEAD in r["tags"] or (r.get("where") or "").startswith(LEAD_FILES)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["family"]))


def header(args: argparse.Namespace, wall_s: float) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                        "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
            "cases": args.cases, "seed": args.seed, "workers": args.workers, "timeout_s": args.timeout,
            "memory_gb": args.memory_gb, "wall_s": round(wall_s, 1)}


def dumps(doc: dict[str, Any]) -> str:
    """JSON with the summary indented and one line per case (a diff shows which cases changed)."""
    head = json.dumps({k: v for k, v in doc.items() if k != "results"}, indent=1, default=str)
    rows = ",\n".join("  " + json.dumps(r, default=str) for r in doc["results"])
    return head[:-2] + ',\n "results": [\n' + rows + "\n ]\n}\n"


def markdown(tab: dict[str, dict[str, int]]) -> str:
    lines = ["| family | cases | " + " | ".join(CLASSES) + " |", "|---|---" + "|---" * len(CLASSES) + "|"]
    for fam, row in tab.items():
        name = f"**{fam}**" if fam == "total" else fam
        lines.append(f"| {name} | {sum(row.values()):,} | " + " | ".join(f"{row[c]:,}" for c in CLASSES) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2100, help="number of cases (default 2100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default 120)")
    ap.add_argument("--memory-gb", type=float, default=8.0, help="address-space limit per worker (0: none)")
    ap.add_argument("--families", default=",".join(WEIGHTS), help="comma-separated families")
    ap.add_argument("--out", default=str(HERE / "results" / "fuzz.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="catx-fuzz-seeds-") as seed_dir:
        seeds, first = setup_seeds(ctx, seed_dir, args.memory_gb)
        cases = make_cases(args.cases, args.seed, seeds, args.families.split(","))
        print(f"{len(cases)} cases over {args.families}; {args.workers} workers, {args.timeout:g} s per case",
              flush=True)
        results = run_cases(cases, seed_dir, args.workers, args.timeout, args.memory_gb, log=True, reuse=[first])
    tab = table(results)
    doc = {"header": header(args, time.perf_counter() - t0), "table": tab, "findings": findings(results),
           "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(dumps(doc))
    print(markdown(tab))
    for f in doc["findings"][:40]:
        print(f"- {f['count']}x {f['family']} {f['class']}{' [lead]' if f['lead'] else ''}: {f['error']} at "
              f"{f['where']}: {str(f['detail'])[:150]} (e.g. {f['example'][:100]})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
