"""The main job end to end: ``catx search flagship`` in a fresh process, its wall time, CPU time (user + system:
an upper bound on its wall time on an idle machine) and peak memory (RSS).

    python bench/flagship.py [--cold] [--trials N] [--out FILE]

``--cold`` starts from an empty cache (the benchmark CLIP is trained and the ViT-B/16 templates fitted inside
the run, as on a fresh install); by default the user's cache is used as a second run would find it.
Results: bench/results/flagship.json (or flagship_cold.json; header: machine, date, load).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import Run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true", help="start from an empty cache")
    ap.add_argument("--trials", type=int, help="the flagship's --trials (default: its own)")
    ap.add_argument("--out")
    a = ap.parse_args()
    run = Run("flagship_cold" if a.cold else "flagship")
    catx = Path(sys.executable).with_name("catx")
    cmd = [str(catx)] if catx.exists() else [sys.executable, "-m", "search.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if a.cold:
            env["CATX_CACHE"] = str(Path(tmp) / "cache")
        args = [*cmd, "search", "flagship", "--out", str(Path(tmp) / "flagship")]
        if a.trials:
            args += ["--trials", str(a.trials)]
        t = time.perf_counter()
        p = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_gib, cpu_s = ru.ru_maxrss / 2**20, ru.ru_utime + ru.ru_stime
        if p.returncode != 0:
            raise SystemExit(f"flagship failed ({p.returncode}): {p.stderr[-2000:]}")
        import json
        summary = {part: json.loads((Path(tmp) / "flagship" / part / "summary.json").read_text())
                   for part in ("hardware", "joint")}
    print(p.stdout[-3000:])
    print(f"flagship: {wall:.1f} s end to end ({cpu_s:.1f} s of CPU), peak RSS {peak_gib:.2f} GiB"
          f" ({'cold' if a.cold else 'warm'} cache)")
    run.save({"cold_cache": a.cold, "wall_s": wall, "cpu_s": cpu_s, "peak_rss_gib": peak_gib, "trials": a.trials,
              "hardware": {k: summary["hardware"][k] for k in ("counts", "hypervolume", "info")},
              "joint": {k: summary["joint"][k] for k in ("counts", "hypervolume", "info", "accuracy_source")},
              "joint_front": summary["joint"]["front"][:20], "hardware_best": summary["hardware"]["best"]}, a.out)


if __name__ == "__main__":
    main()
