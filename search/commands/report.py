"""``catx report RUN_DIR | --estimate SPEC --hardware HW``: write one self-contained HTML report."""

from __future__ import annotations

import argparse
import json

from ir.errors import CatxError

EPILOG = """examples:
  catx report runs/flagship                          # every study of the run -> runs/flagship/report.html
  catx report runs/s1 -o s1.html                     # one study, chosen output file
  catx report --estimate openclip:ViT-B-16 --tower both --hardware catransformers-edge --scenario taiwan"""


def register(sub: argparse._SubParsersAction) -> None:
    from .estimate import add_hardware_args
    p = sub.add_parser("report", help="write a self-contained HTML report of a study (or of one estimate)",
                       description="One HTML file with everything inline (no network): the study definition, the "
                                   "Pareto front(s) with hover details, the best design per objective, their carbon "
                                   "breakdown with uncertainty bands, per-op tables whose rows expand into loop nests "
                                   "and schedules, the hypervolume curve and, for a paper preset, the paper's "
                                   "numbers. A study still running gives a report of the trials stored so far, "
                                   "marked partial.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                   help="results folder of `catx search` (a study, or a folder of studies like runs/flagship)")
    p.add_argument("-o", "--out", metavar="FILE", help="output file (default RUN_DIR/report.html, or report.html "
                                                       "with --estimate)")
    p.add_argument("--estimate", metavar="SPEC", help="report one model on one hardware instead of a study "
                                                      "(needs --hardware)")
    p.add_argument("--tower", default="image", choices=["image", "text", "both"], help="CLIP tower (default image)")
    p.add_argument("--bits", type=int, default=8, help="element bit-width on the accelerator (default 8)")
    p.add_argument("--dim", action="append", metavar="NAME=N", help="bind an ONNX dynamic dimension by name")
    p.add_argument("--shape", action="append", metavar="INPUT=D0,D1,..", help="bind an ONNX input's whole shape")
    add_hardware_args(p, required=False)
    p.add_argument("--scenario", default="catx-default", help="carbon scenario preset or YAML (with --estimate; "
                                                              "default catx-default)")
    p.add_argument("--json", action="store_true", help="print what was written (path, bytes, seconds) as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import webreport

    if args.estimate is None:
        if args.run_dir is None:
            raise CatxError("give RUN_DIR (a results folder of `catx search`) or --estimate SPEC --hardware HW")
        w = webreport.write_study_report(args.run_dir, args.out)
    else:
        if args.run_dir is not None or args.hardware is None:
            raise CatxError("--estimate SPEC takes --hardware HW and no RUN_DIR")
        from backend.carbon import scenarios

        from .estimate import load_inputs
        scenarios.load(args.scenario)              # a bad scenario fails before the slow lowering
        args.spec = args.estimate
        g, hw = load_inputs(args)
        w = webreport.write_estimate_report(g, hw, args.scenario, args.out or "report.html", args.estimate,
                                            args.target)
    if args.json:
        print(json.dumps(w.to_dict(), indent=1))
    else:
        print(f"report written to {w.path} ({w.bytes / 1e6:.2f} MB in {w.seconds:.2f} s"
              f"{'; PARTIAL: the study has fewer trials than planned' if w.partial else ''})")
    return 0
