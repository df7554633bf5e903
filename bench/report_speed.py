"""How long `catx report` takes, and how big its page is, for a 1,000-trial study (target: <= 3 s, <= 5 MB).

Usage: python bench/report_speed.py [--study DIR] [--repeat 3] [--out bench/results/report_speed.json]

Without --study it first runs the hardware-only study (CLIP ViT-B/16, both towers, edge template, 1,000 trials;
random proposals, which store the same kind of trials as SMAC in a third of the time) into a temporary folder.
It then writes the report (a) in the process that ran the search, as `catx search` does when it finishes, and
(b) in fresh processes, `python -m search.cli report DIR`, the way a user runs it later (imports included). Wall
and CPU seconds are both recorded: on a loaded shared machine the wall time overstates what the work costs. The
result is stored with bench/provenance.py's header (script, machine, date, commit, load).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from provenance import Run  # noqa: E402

import search  # noqa: E402
from search.webreport import write_study_report  # noqa: E402


def fresh_process(study: Path, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "search.cli", "report", str(study), "-o", str(out), "--json"],
                       capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    doc = json.loads(r.stdout)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "inside_s": doc["seconds"], "bytes": doc["bytes"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, help="an existing run folder of >= 1,000 trials (default: run one)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "report_speed.json")
    args = ap.parse_args()
    bench = Run("report_speed")
    doc = {"target": {"seconds": 3.0, "bytes": 5_000_000}}
    tmp = Path(tempfile.mkdtemp(prefix="catx-report-speed-"))
    study = args.study
    if study is None:
        study = tmp / "hardware-only"
        t0 = time.perf_counter()
        search.run("hardware-only", trials=1000, out=study, kind="random", seed=0)
        doc["search_s"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        w = write_study_report(study, tmp / "in_process.html")
        doc["in_search_process"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                                    "bytes": w.bytes}
        print(f"in the search's process: {doc['in_search_process']}")
    st = search.Study.load(study)
    doc["study"] = {"dir": str(study), "name": st.spec.name, "trials": len(st.trials), "front": len(st.front())}
    runs = [fresh_process(study, tmp / f"fresh{i}.html") for i in range(args.repeat)]
    for r in runs:
        print(f"fresh process: {r}")
    doc["fresh_process"] = runs
    best = min(runs, key=lambda r: r["wall_s"])
    doc["summary"] = {"fresh_process_wall_s_min": best["wall_s"],
                      "fresh_process_cpu_s_min": min(r["cpu_s"] for r in runs),
                      "bytes": best["bytes"], "meets_time_target": best["wall_s"] <= 3.0,
                      "meets_size_target": best["bytes"] <= 5_000_000}
    bench.save(doc, args.out)
    shutil.rmtree(tmp, ignore_errors=True)       # the temporary study and pages
    print(json.dumps(doc["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
