"""``catx search STUDY.yaml|PRESET``: run (or resume) a study with a progress bar, then print and plot its results
and write its HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_json, emit, json_to_stdout, parser

EXAMPLES = """
  catx search flagship                                  # the main job: results and report.html in runs/flagship
  catx search hardware-only --trials 1000 --out runs/hw # a preset with another budget
  catx search my-study.yaml --workers 2 --out runs/s1   # parallel trials on a local Dask cluster
  catx search my-study.yaml --out runs/s1 --resume      # continue after Ctrl-C / a crash
  catx search hw-carbon --trials 50 --json              # the summary as JSON on stdout (progress on stderr)
"""


def register(sub: argparse._SubParsersAction) -> None:
    from ..study import presets
    p = parser(sub, "search", EXAMPLES,
               help="search model, hardware and schedule for carbon, latency, energy, accuracy",
               description="Run a study (a YAML file or a preset) and store every trial in OUT/study.sqlite; then "
                           "print the best designs and the front and write OUT/report.html. "
                           f"Presets: flagship, {', '.join(presets())}.")
    p.add_argument("study", metavar="STUDY", help="study YAML file, a preset name, or 'flagship'")
    p.add_argument("--trials", type=int, help="number of trials (overrides the study; a nested study counts model "
                   "configurations; the flagship: its optimised parts)")
    p.add_argument("--workers", type=int, help="parallel trials on a local Dask cluster of N processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run trials on an existing Dask scheduler (tcp://host:port)")
    p.add_argument("--resume", action="store_true", help="continue the study stored in --out")
    p.add_argument("--out", metavar="DIR", help="results directory (default runs/NAME-OPTIMISER-sSEED)")
    p.add_argument("--seed", type=int, help="random seed (overrides the study)")
    p.add_argument("--optimizer", choices=["auto", "smac", "random", "exhaustive"],
                   help="override the study's optimiser (auto: every design when a study without model knobs can be "
                        "enumerated, else smac)")
    p.add_argument("--mode", choices=["nested", "flat"], help="joint studies: nested (default: an optimiser over the "
                   "model knobs, each model's exact hardware front) or flat (one optimiser over every knob)")
    p.add_argument("--exhaustive", action="store_true", help="enumerate the hardware space (of the whole study, or "
                   "of each model in a nested study); an error when it is too large")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="do not write OUT/report.html")
    add_json(p, "the summary")
    p.set_defaults(run=run)


def _html(out: Path, args: argparse.Namespace, console) -> dict | None:
    """Write OUT/report.html; a failure is reported in one line and does not fail the finished search."""
    if args.no_report:
        return None
    from ir.errors import CatxError

    from .. import webreport
    try:
        w = webreport.write_study_report(out)
    except CatxError as e:
        console.print(f"report not written: {e}")
        return None
    console.print(f"report: {w.path} ({w.bytes / 1e6:.2f} MB, {w.seconds:.1f} s)")
    return w.to_dict()


def run(args: argparse.Namespace) -> int:
    import rich
    from rich.console import Console

    from .. import report
    from ..engine import run as run_study
    from ..nested import describe
    from ..results import Study

    quiet = json_to_stdout(args)
    if quiet:
        rich.reconfigure(stderr=True)        # progress bars and tables go to stderr; stdout holds the JSON
    console = Console(stderr=quiet)
    if args.trials is not None and args.trials < 1:
        from ..errors import StudyError
        raise StudyError(f"--trials must be >= 1, got {args.trials}")
    if args.study == "flagship":
        from ..flagship import run_flagship
        out = Path(args.out or "runs/flagship")
        rc = run_flagship(out=out, trials=args.trials, workers=args.workers, seed=args.seed, resume=args.resume,
                          console=console, kind=args.optimizer, scheduler=args.scheduler, mode=args.mode,
                          exhaustive=args.exhaustive or None)
        written = _html(out, args, console)
        if args.json:
            dirs = sorted(p.parent for p in out.glob("*/study.sqlite"))
            emit(args, {"studies": [report.summary(Study.load(d)) for d in dirs], "report": written})
        return rc
    st = run_study(args.study, out=args.out, resume=args.resume, trials=args.trials, workers=args.workers,
                   seed=args.seed, kind=args.optimizer, scheduler=args.scheduler, progress=not args.quiet,
                   mode=args.mode, exhaustive=args.exhaustive or None)
    console.print(describe(st))
    console.print(report.counts_line(st))
    console.print(report.best_table(st))
    console.print(report.front_table(st, limit=15))
    s = report.write(st)
    if s.get("accuracy_source"):
        console.print(f"accuracy: {s['accuracy_source']}")
    console.print(f"hypervolume (normalised) {s['hypervolume']:.4f}; results in {st.dir} "
                  f"(study.sqlite, summary.json, {', '.join(p.rsplit('/', 1)[-1] for p in s['plots'])})")
    written = _html(st.dir, args, console)
    if args.json:
        emit(args, {"studies": [report.summary(st)], "report": written})
    return 0
