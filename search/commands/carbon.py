"""``catx carbon SPEC --hardware HW --scenario SC``: lower a model, estimate it, print its carbon breakdown."""

from __future__ import annotations

import argparse

from .common import add_json, emit, json_to_stdout, parser

DESCRIPTION = """Total carbon (embodied + operational) of running a model on one accelerator over a deployment.
Scenario presets: paper-california, catransformers-code, catx-default and one per grid region (california, us,
taiwan, france, british-columbia, ...); or a scenario YAML file. --uncertainty adds Monte Carlo P5/P50/P95 bands
and the constants that move the total most."""

EXAMPLES = """
  catx carbon openclip:ViT-B-16 --hardware catransformers-edge --scenario paper-california
  catx carbon gemm:197,768,3072 --hardware catransformers-edge --scenario taiwan --uncertainty --json
  catx carbon openclip:ViT-B-16 --hardware catransformers-edge --versus gpu-like --json carbon.json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = parser(subparsers, "carbon", EXAMPLES, help="carbon breakdown of a model on a hardware under a scenario",
               description=DESCRIPTION)
    p.add_argument("spec", help="model spec: openclip:ARCH, gemm:M,K,N, PATH.onnx or module:callable")
    p.add_argument("--hardware", required=True, help="hardware preset name or YAML file")
    p.add_argument("--scenario", default="catx-default", help="scenario preset name or YAML file "
                                                              "(default: catx-default)")
    p.add_argument("--tower", default="both", choices=("image", "text", "both"), help="CLIP tower (default: both)")
    p.add_argument("--target", default="edp", help="schedule target of the mapper: latency, energy or edp")
    p.add_argument("--uncertainty", action="store_true", help="add Monte Carlo bands and a tornado of drivers")
    p.add_argument("--samples", type=int, default=20_000, help="Monte Carlo samples (default: 20000)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default: 0)")
    p.add_argument("--versus", metavar="HW", help="a second hardware (preset or YAML): also print its total and "
                                                  "P(this design < that one), constants sampled jointly")
    add_json(p, "the report (tables are printed too)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import backend
    import frontend
    import ir

    # names, not the package object: backend may re-export the function ``carbon`` under the same name
    from backend.carbon import CarbonError, carbon, prob_less, scenarios, with_uncertainty

    scenario = scenarios.load(args.scenario)         # fail on a bad scenario before the slow lowering
    hw = backend.presets.resolve(args.hardware)
    graph = frontend.load(args.spec, tower=args.tower)
    est = backend.estimate(graph, hw, target=args.target)
    if not est.feasible:
        raise CarbonError(f"{args.spec} does not map onto {args.hardware}: {'; '.join(est.infeasible[:3])}")
    model_bytes = ir.totals(graph).param_bytes
    if args.uncertainty:
        report = with_uncertainty(est, scenario, samples=args.samples, seed=args.seed, model_bytes=model_bytes)
    else:
        report = carbon(est, scenario, model_bytes=model_bytes)
    quiet = json_to_stdout(args)
    say = (lambda *a: None) if quiet else print
    say(f"{args.spec} on {args.hardware} (target {args.target})")
    say(report.format())
    versus = None
    if args.versus:
        other = backend.estimate(graph, backend.presets.resolve(args.versus), target=args.target)
        if not other.feasible:
            raise CarbonError(f"{args.spec} does not map onto {args.versus}: {'; '.join(other.infeasible[:3])}")
        rep_b = carbon(other, scenario, model_bytes=model_bytes)
        p_less = prob_less(est, other, scenario, samples=args.samples, seed=args.seed, model_bytes=model_bytes)
        versus = {"hardware": args.versus, "total_kg": rep_b.total_kg, "p_this_less": p_less}
        say(f"versus {args.versus}: {rep_b.total_kg:.4f} kg at {other.latency_s * 1e3:.3f} ms, "
              f"{other.area_mm2:.2f} mm2; P({args.hardware} < {args.versus}) = {p_less:.4f} "
              f"({args.samples} samples, seed {args.seed})")
    if args.json is not None:
        doc = {"spec": args.spec, "hardware": hw.model_dump(mode="json"), **report.to_dict()}
        if versus is not None:
            doc["versus"] = versus
        emit(args, doc)
        say(f"wrote {args.json}")
    return 0
