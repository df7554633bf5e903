"""Rerun every bench behind a number in README.md and docs/, storing each result under bench/results/.

    python bench/run_all.py                 # the default set, which fits the 30-minute budget (--list: minutes)
    python bench/run_all.py --all           # also the long benches (GPU calibration, SCALE-Sim, nested search, ...)
    python bench/run_all.py --list          # what would run, what is skipped and why, and the time budget
    python bench/run_all.py --only carbon_batch proxy_benchmark_cpu
    python bench/run_all.py --peer-python /work/peers-venv/bin/python   # also the SCALE-Sim and ZigZag comparisons
    python bench/run_all.py --only setup_install setup_suite             # the README's install and suite times

A bench that needs a peer tool (SCALE-Sim, ZigZag: installed in a separate virtual environment) or a GPU says so and
is skipped with a message when it is absent; the set-up benches (a fresh install, the whole test suite) run only when
named with --only. Every bench script in bench/ is listed in BENCHES or HELPERS
(tests/test_bench_claims.py checks it), so none is forgotten. Writes bench/results/run_all.json (what ran, how long).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import Run  # noqa: E402

BUDGET_MIN = 30


@dataclass(frozen=True)
class Bench:
    """One bench: its script and arguments, what it needs beyond this repo's environment, its stored results,
    and about how long it takes on this project's 2-core machine when it is not shared (minutes, for the budget;
    from the CPU time of the stored runs where they record it, else an estimate)."""

    name: str
    args: tuple[str, ...]
    results: tuple[str, ...]
    minutes: float
    needs: tuple[str, ...] = ()            # "gpu", "peer:scalesim", "peer:zigzag"
    stdout_to: str | None = None           # a bench that only prints: its output is stored in this file
    env: tuple[tuple[str, str], ...] = ()  # extra environment variables
    explicit: str | None = None            # why it runs only when named with --only (e.g. it runs the test suite)
    long: bool = False                     # left out of the default set, which must fit BUDGET_MIN; --all adds it

    @property
    def script(self) -> str:
        return self.args[0]


BENCHES = (
    Bench("proxy_benchmark_cpu", ("bench/proxy_benchmark.py", "--out", "bench/results/proxy_benchmark_cpu.json"),
          ("bench/results/proxy_benchmark_cpu.json",), 4, env=(("CUDA_VISIBLE_DEVICES", ""),), long=True),
    Bench("proxy_benchmark_gpu", ("bench/proxy_benchmark.py", "--out", "bench/results/proxy_benchmark_gpu.json"),
          ("bench/results/proxy_benchmark_gpu.json",), 2, needs=("gpu",)),
    Bench("lowering", ("bench/lowering.py",), ("bench/results/lowering.json",), 1.5),
    Bench("ir_fusion", ("bench/ir_fusion.py",), ("bench/results/ir_fusion.json",), 3),
    Bench("carbon_batch", ("bench/carbon_batch.py",), ("bench/results/carbon_batch.json",), 0.5),
    Bench("carbon_paper_direction", ("bench/carbon_paper_direction.py",),
          ("bench/results/carbon_paper_direction.json",), 1.5),
    Bench("backend_speed", ("bench/backend_speed.py", "--frontend"), ("bench/results/backend_speed.json",), 2),
    Bench("paper_reproduction", ("bench/paper_reproduction.py",),
          ("bench/results/paper_reproduction.json", "docs/paper.md"), 8, long=True),
    Bench("search_hardware_only", ("bench/search_hardware_only.py",), ("bench/results/search_hardware_only.json",),
          1.5),
    Bench("search_smac_vs_random", ("bench/search_smac_vs_random.py", "--seeds", "10", "--budget", "100"),
          ("bench/results/search_smac_vs_random.json",), 3),
    Bench("search_smac_overhead", ("bench/search_smac_overhead.py", "--trials", "300"),
          ("bench/results/search_smac_overhead.json",), 1.5),
    Bench("search_parallel", ("bench/search_parallel.py",), ("bench/results/search_parallel.json",), 4, long=True),
    Bench("lowering_parametric", ("bench/lowering_parametric.py",), ("bench/results/lowering_parametric.json",), 4, long=True),
    Bench("search_nested_parallel", ("bench/search_nested_parallel.py", "--models", "8"),
          ("bench/results/search_nested_parallel.json",), 4, long=True),
    Bench("search_nested_vs_flat", ("bench/search_nested_vs_flat.py", "--seeds", "5", "--wall-s", "60", "--points",
                                    "6"), ("bench/results/search_nested_vs_flat.json",), 12, long=True),
    Bench("flagship", ("bench/flagship.py",), ("bench/results/flagship.json",), 5),
    Bench("fuzz", ("bench/fuzz.py",), ("bench/results/fuzz.json",), 3),
    Bench("report_speed", ("bench/report_speed.py",), ("bench/results/report_speed.json",), 2),
    Bench("setup_install", ("bench/setup_time.py", "--part", "install"), ("bench/results/setup_install.json",), 4,
          explicit="installs a fresh virtual environment (several GB); name it with --only"),
    Bench("setup_suite", ("bench/setup_time.py", "--part", "suite"), ("bench/results/setup_suite.json",), 4,
          explicit="runs the whole test suite; name it with --only"),
    Bench("gpu_measure", ("bench/gpu_measure.py", "--out", "bench/results"),
          ("bench/results/gpu_h200_measurements.json",), 9, needs=("gpu",)),
    Bench("gpu_summary", ("bench/gpu_summary.py",), ("bench/results/gpu_h200_summary.md",), 0.1),
    # lowering the 122 workloads fills .catx-cache/gpu_lowered/ the first time (~30 min); the fit itself ~4 min
    Bench("gpu_calibrate", ("bench/gpu_calibrate.py",),
          ("bench/results/gpu_calibration.json", "backend/data/tech/gpu_calibration.yaml"), 35, long=True),
    Bench("gpu_calibration_plot", ("bench/gpu_calibrate.py", "--plot", "docs/gpu_calibration.png"),
          ("docs/gpu_calibration.png",), 0.1),
    Bench("fusion_edge_direction", ("bench/fusion_edge_direction.py",),
          ("bench/results/fusion_edge_direction.json",), 1.5),
    Bench("zigzag_compare", ("bench/zigzag_compare.py", "--arrays", "32x32,128x128", "--dataflows", "os,ws"),
          ("bench/results/zigzag_compare.json", "bench/results/zigzag_compare.txt"), 2, needs=("peer:zigzag",),
          stdout_to="bench/results/zigzag_compare.txt"),
    Bench("scalesim_compare", ("bench/scalesim_compare.py",),
          ("bench/results/scalesim_compare.json", "bench/results/scalesim_compare.txt"), 25,
          needs=("peer:scalesim",), stdout_to="bench/results/scalesim_compare.txt", long=True),
)
# Scripts in bench/ that are not benches themselves: called by a bench, or this tooling.
HELPERS = ("bench/provenance.py", "bench/run_all.py", "bench/scalesim_run.py", "bench/zigzag_run.py",
           "bench/gpu_workloads.py", "bench/paper_models.py", "bench/paper_doc.py", "bench/fuzz_cases.py",
           "bench/fuzz_actions.py", "bench/gpu_lowered.py")
PEER_MODULES = {"peer:scalesim": "scalesim", "peer:zigzag": "zigzag"}


def default_peer_python() -> str:
    return os.environ.get("CATX_PEER_PYTHON", "/work/peers-venv/bin/python")


def missing(bench: Bench, peer_python: str, gpu: bool) -> str | None:
    """Why ``bench`` cannot run here, or None."""
    for need in bench.needs:
        if need == "gpu" and not gpu:
            return "needs a GPU (torch sees none)"
        if need in PEER_MODULES:
            mod = PEER_MODULES[need]
            if not Path(peer_python).is_file():
                return f"needs the peer tool {mod!r} in a separate venv; no Python at {peer_python} (--peer-python)"
            ok = subprocess.run([peer_python, "-c", f"import {mod}"], capture_output=True).returncode == 0
            if not ok:
                return f"needs the peer tool {mod!r}; {peer_python} cannot import it"
    return None


def has_gpu() -> bool:
    code = "import torch; print(torch.cuda.is_available())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return out.stdout.strip() == "True"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="show the plan and exit")
    ap.add_argument("--only", nargs="+", default=None, help="bench names to run")
    ap.add_argument("--all", action="store_true", help="also the long benches (the default set fits the budget)")
    ap.add_argument("--peer-python", default=default_peer_python(),
                    help="Python of the peer-tool venv (scalesim, zigzag-dse); default $CATX_PEER_PYTHON")
    a = ap.parse_args()
    known = {b.name for b in BENCHES}
    unknown = set(a.only or ()) - known
    if unknown:
        print(f"unknown bench(es) {sorted(unknown)}; known: {sorted(known)}", file=sys.stderr)
        return 2
    chosen = [b for b in BENCHES if a.only is None or b.name in a.only]
    gpu = has_gpu() if any("gpu" in b.needs for b in chosen) else False
    plan = [(b, missing(b, a.peer_python, gpu) or (b.explicit if a.only is None else None)
             or ("long: run with --all or --only" if b.long and a.only is None and not a.all else None))
            for b in chosen]
    runnable = [b for b, why in plan if why is None]
    total = sum(b.minutes for b in runnable)
    for b, why in plan:
        print(f"{'skip' if why else 'run '} {b.name:<24} ~{b.minutes:g} min  {' '.join(b.args)}"
              + (f"   [{why}]" if why else ""))
    over = total > BUDGET_MIN and not a.all and a.only is None
    print(f"expected {total:g} min for {len(runnable)} benches"
          + (f" (budget {BUDGET_MIN} min for the default set)" if not a.all and a.only is None else "")
          + ("  -- OVER BUDGET: shorten a bench or mark it long" if over else ""))
    if a.list:
        return 0
    run = Run("run_all")
    report = []
    for b, why in plan:
        if why:
            print(f"\n== {b.name}: skipped, {why}", flush=True)
            report.append({"bench": b.name, "status": "skipped", "reason": why})
            continue
        args = list(b.args)
        if any(n.startswith("peer:") for n in b.needs):
            args += ["--peer-python", a.peer_python]
        print(f"\n== {b.name}: {' '.join(args)}", flush=True)
        t0 = time.perf_counter()
        env = {**os.environ, **dict(b.env)}
        if b.stdout_to:
            proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            print(proc.stdout, end="")
            if proc.returncode == 0:
                head = f"# {' '.join(args)}  ({run.header()['date_utc']}, {run.header()['machine']['cpu']})\n"
                (ROOT / b.stdout_to).write_text(head + proc.stdout)
            rc = proc.returncode
        else:
            rc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env).returncode
        wall = time.perf_counter() - t0
        print(f"== {b.name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {wall:.0f} s", flush=True)
        report.append({"bench": b.name, "status": "ok" if rc == 0 else "failed", "exit": rc, "wall_s": wall,
                       "expected_min": b.minutes, "results": list(b.results)})
    failed = [r["bench"] for r in report if r["status"] == "failed"]
    if a.only is None:
        run.save({"benches": report, "failed": failed})
    print(f"\n{len(report) - len(failed)} of {len(report)} benches ok or skipped; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
