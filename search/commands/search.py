"""``catx search STUDY.yaml|PRESET``: run (or resume) a study with a progress bar, then print and plot its results."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from ..study import presets
    p = sub.add_parser("search", help="search model, hardware and schedule for carbon, latency, energy, accuracy",
                       description="Run a study (a YAML file or a preset) and store every trial in OUT/study.sqlite. "
                                   f"Presets: flagship, {', '.join(presets())}.")
    p.add_argument("study", metavar="STUDY", help="study YAML file, a preset name, or 'flagship'")
    p.add_argument("--trials", type=int, help="number of trials (overrides the study)")
    p.add_argument("--workers", type=int, help="parallel trials on a local Dask cluster of N processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run trials on an existing Dask scheduler (tcp://host:port)")
    p.add_argument("--resume", action="store_true", help="continue the study stored in --out")
    p.add_argument("--out", metavar="DIR", help="results directory (default runs/NAME-OPTIMISER-sSEED)")
    p.add_argument("--seed", type=int, help="random seed (overrides the study)")
    p.add_argument("--optimizer", choices=["smac", "random"], help="override the study's optimiser")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .. import report
    from ..engine import run as run_study

    console = Console()
    if args.trials is not None and args.trials < 1:
        from ..errors import StudyError
        raise StudyError(f"--trials must be >= 1, got {args.trials}")
    if args.study == "flagship":
        from ..flagship import run_flagship
        return run_flagship(out=args.out or "runs/flagship", trials=args.trials, workers=args.workers,
                            seed=args.seed, resume=args.resume, console=console, kind=args.optimizer,
                            scheduler=args.scheduler)
    st = run_study(args.study, out=args.out, resume=args.resume, trials=args.trials, workers=args.workers,
                   seed=args.seed, kind=args.optimizer, scheduler=args.scheduler, progress=not args.quiet)
    console.print(report.counts_line(st))
    console.print(report.best_table(st))
    console.print(report.front_table(st, limit=15))
    s = report.write(st)
    console.print(f"hypervolume (normalised) {s['hypervolume']:.4f}; results in {st.dir} "
                  f"(study.sqlite, summary.json, {', '.join(p.rsplit('/', 1)[-1] for p in s['plots'])})")
    return 0
