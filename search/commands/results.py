"""``catx results DIR``: list a stored study's trials, its Pareto front and best designs (and redraw the plots)."""

from __future__ import annotations

import argparse

from . import count
from .common import add_json, emit, json_to_stdout, parser

EXAMPLES = """
  catx results runs/s1                          # counts, best design per objective, Pareto front
  catx results runs/s1 --trials --limit 50      # every trial too
  catx results runs/a runs/b                    # several studies, their best designs side by side
  catx results runs/s1 --json                   # the same as JSON (SI units) on stdout
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = parser(sub, "results", EXAMPLES, help="show the trials, Pareto front and best designs of a stored study",
               description="Show a stored study: trial counts, the best design per objective and the Pareto front "
                           "(configurations in compact notation, legend under each table).")
    p.add_argument("dirs", metavar="DIR", nargs="+", help="results directory of `catx search` (several: compare)")
    p.add_argument("--trials", action="store_true", help="list every trial, not only the front")
    p.add_argument("--limit", type=count, default=30, help="rows of the front to show (default 30)")
    p.add_argument("--no-plots", action="store_true", help="do not rewrite front.png / hypervolume.png")
    add_json(p, "the summaries")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .. import report
    from ..results import Study

    studies = [Study.load(d) for d in args.dirs]
    if args.json:
        emit(args, {"studies": [report.summary(st, trials=args.trials) for st in studies]})
        if json_to_stdout(args):
            return 0
    console = Console()
    for st in studies:
        console.print(f"[bold]{st.spec.name}[/] ({st.spec.optimizer.kind}, seed {st.spec.optimizer.seed}) in {st.dir}: "
                      + report.counts_line(st))
        if args.trials:
            console.print(report.trials_table(st, st.trials, f"{st.spec.name}: all trials"))
        console.print(report.best_table(st))
        console.print(report.front_table(st, args.limit))
        if not args.no_plots:
            report.write(st)
    if len(studies) > 1:
        rows = [(f"{st.spec.name}: min {o}", st.best(o), st) for st in studies for o in st.objectives[:1]
                if st.best(o) is not None]
        console.print(report.compare_table(rows))
    return 0
