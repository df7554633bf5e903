"""``catx inspect SPEC --hardware ... --op NAME``: one operator's schedule in full, loop nest included."""

from __future__ import annotations

import argparse
import dataclasses
import json

from .common import add_json, emit, json_to_stdout, parser
from .estimate import add_hardware_args, load_inputs
from .lower import add_model_args

EXAMPLES = """
  catx inspect gemm:197,768,3072 --hardware catransformers-edge --op matmul        # schedule, loop nests
  catx inspect openclip:ViT-B-16 --hardware catransformers-edge --op image.matmul_4 --json   # as JSON
"""


def run(args: argparse.Namespace) -> int:
    import backend
    import ir
    from backend.report import loop_nest

    g, hw = load_inputs(args)
    op = ir.find_op(g, args.op)  # printed name, source name or unique substring; lists candidates otherwise
    est = backend.estimate(g, hw, target=args.target)
    r = est.op(op.name)
    if json_to_stdout(args):
        emit(args, {"hardware": hw.name, "target": args.target, "source": op.source, "op": dataclasses.asdict(r),
                    "loop_nest": loop_nest(r.schedule)})
        return 0
    print(f"op {r.name} ({r.kind}{', ' + r.fn if r.fn else ''}) x{r.repeat} on {hw.name}, target {args.target}"
          f"{'  source ' + op.source if op.source else ''}")
    print(f"  cycles {r.cycles:,.0f}  latency {r.latency_s * 1e6:.2f} µs  energy {r.energy_j * 1e6:.3f} µJ  "
          f"MACs {r.macs:,}")
    print("  energy by component [µJ]: " + ", ".join(f"{k} {v * 1e6:.3f}" for k, v in r.energy_by_component_j.items()))
    terms = r.schedule.get("cycles_by_term")
    if terms:
        print("  cycles by term: " + ", ".join(f"{k} {v:,.0f}" for k, v in terms.items()) +
              f"  -> bound: {r.schedule.get('bound')}")
    print("loop nest:")
    for line in loop_nest(r.schedule):
        print("  " + line)
    print("schedule:")
    print(json.dumps(r.schedule, indent=1, default=float))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = parser(sub, "inspect", EXAMPLES, help="show one operator's schedule in full, loop nest included",
               description="Estimate a model on a hardware and print one op's costs, loop nests and schedule.")
    add_model_args(p)
    add_hardware_args(p)
    p.add_argument("--op", required=True, help="op name as `catx estimate` prints it, its source name "
                   "(e.g. visual.transformer.resblocks.3.mlp.c_fc) or a unique part of either")
    add_json(p, "the op's record and loop nest")
    p.set_defaults(run=run)
