"""``catx estimate SPEC --hardware FILE|PRESET``: latency, energy, area of a model, and its costliest ops."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from ir.files import write_text

from . import count
from .common import add_json, json_to_stdout, parser
from .lower import _kv, add_model_args, load_from_args

EXAMPLES = """
  catx estimate openclip:ViT-B-16 --tower both --hardware catransformers-edge    # totals + costliest ops
  catx estimate gemm:197,768,3072 --hardware my_chip.yaml --knob cores=2 --json  # the estimate as JSON
  catx estimate openclip:ViT-B-16 --hardware catransformers-edge --json est.json # every op's schedule to a file
"""


def add_hardware_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--hardware", "--hw", required=required, metavar="FILE|PRESET",
                   help="hardware YAML file or preset name (catransformers-edge, gpu-like)")
    p.add_argument("--knob", action="append", metavar="NAME=VALUE",
                   help="change a hardware knob, e.g. --knob cores=2 --knob pe_cols=16")
    p.add_argument("--tech", metavar="FILE", help="YAML of technology overrides (dotted keys)")
    p.add_argument("--target", default="edp", choices=["latency", "energy", "edp"],
                   help="per-op schedule objective (default edp)")


def _num(v: str):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def load_inputs(args: argparse.Namespace):
    import backend
    import ir

    hw = backend.presets.resolve(args.hardware)
    knobs = _kv(args.knob, "--knob", _num)
    if knobs:
        hw = hw.with_knobs(**knobs)
    if args.tech:
        over = {**hw.tech_overrides, **backend.tech.load_overrides(args.tech)}
        hw = backend.Hardware.from_dict({**hw.model_dump(mode="json"), "tech_overrides": over}, args.tech)
    if args.bits is not None:       # weights and activations of the datapath; the hardware says what it allows
        bits = {**hw.bits.model_dump(), "weight": args.bits, "activation": args.bits}
        hw = backend.Hardware.from_dict({**hw.model_dump(mode="json"), "bits": bits}, f"--bits {args.bits}")
    if args.spec.endswith(".json") and Path(args.spec).is_file():
        g = ir.load(args.spec)
    else:
        g = load_from_args(args)
    return g, hw


def console_for(args: argparse.Namespace):
    """A console for tables: the terminal's width (or $COLUMNS), 200 columns when piped; stderr under --json."""
    import os

    from rich.console import Console
    wide = Console().is_terminal or "COLUMNS" in os.environ
    return Console(width=None if wide else 200, stderr=json_to_stdout(args))


def run(args: argparse.Namespace) -> int:
    import time

    from rich.table import Table

    import backend
    from backend.report import summary

    console = console_for(args)
    g, hw = load_inputs(args)
    t0 = time.perf_counter()
    est = backend.estimate(g, hw, target=args.target)
    dt = time.perf_counter() - t0
    if json_to_stdout(args):
        print(est.to_json())
        return 0 if est.feasible else 3
    if not est.feasible:
        console.print(f"[bold red]infeasible[/] on {hw.name}: " + "; ".join(est.infeasible))
    e = est.energy_by_component_j
    console.print(f"[bold]{g.name}[/] on [bold]{hw.name}[/] ({hw.node_nm} nm, {hw.cores} core(s) of "
                  f"{hw.tensor_unit.pe_rows}x{hw.tensor_unit.pe_cols} PEs, {hw.clock_hz / 1e6:g} MHz), target "
                  f"{args.target}")
    console.print(f"  latency {est.latency_s * 1e3:.3f} ms   energy {est.energy_j * 1e3:.3f} mJ   "
                  f"EDP {est.edp_js:.3e} J*s   utilisation {est.utilisation:.1%}")
    console.print(f"  area {est.area_mm2:.2f} mm2 (" + ", ".join(f"{k} {v:.2f}" for k, v in
                                                            est.area_by_component_mm2.items()) + ")"
                  f"   peak {est.peak_tops:.2f} TOPS   leakage {est.leakage_power_w * 1e3:.2f} mW")
    console.print("  energy: " + ", ".join(f"{k} {v / est.energy_j:.1%}" for k, v in e.items() if est.energy_j))
    console.print(f"  MACs {est.macs / 1e9:.3f} G; {len(est.ops)} ops mapped in {dt * 1e3:.1f} ms")
    table = Table(title=f"costliest {args.top} ops (latency x repeat)")
    for col in ("op", "source", "kind", "repeat [x]", "latency each [ms]", "latency total [ms]",
                "energy each [µJ]", "schedule"):
        table.add_column(escape(col), justify="right" if "[" in col else "left")
    source = {o.name: o.source for o in g.ops}
    for r in est.costliest(args.top):
        table.add_row(r.name, source.get(r.name, ""), r.kind, str(r.repeat), f"{r.latency_s * 1e3:.4f}",
                      f"{r.latency_s * r.repeat * 1e3:.3f}", f"{r.energy_j * 1e6:.2f}", summary(r.schedule))
    console.print(table)
    if args.json:
        write_text(args.json, est.to_json(), "estimate")
        console.print(f"estimate written to {args.json}")
    return 0 if est.feasible else 3


def register(sub: argparse._SubParsersAction) -> None:
    p = parser(sub, "estimate", EXAMPLES, help="estimate latency, energy and area of a model on a hardware",
               description="Map every op of a model onto a hardware; print latency, energy, area and the costliest "
                           "ops with their schedules.")
    add_model_args(p)
    add_hardware_args(p)
    p.add_argument("--top", type=count, default=10, help="how many of the costliest ops to list (default 10)")
    add_json(p, "the full estimate (every op's schedule)")
    p.set_defaults(run=run)


__all__ = ["add_hardware_args", "console_for", "load_inputs", "register", "run"]
