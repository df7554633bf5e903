"""``catx lower SPEC``: lower a model to IR, print the per-op table and totals, optionally write the IR JSON."""

from __future__ import annotations

import argparse
import dataclasses
import time

from rich.markup import escape

from ir.errors import CatxError

from .common import add_json, emit, json_to_stdout, parser

EXAMPLES = """
  catx lower openclip:ViT-B-16 --tower both           # both CLIP towers: one row per stored op, then totals
  catx lower gemm:197,768,2304 --json                 # the table and totals as JSON on stdout
  catx lower model.onnx --dim batch=1 --json g.json   # write the IR (versioned JSON) to g.json
"""


def _kv(items: list[str], what: str, convert) -> dict:
    out = {}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise CatxError(f"{what} {it!r}: expected NAME=VALUE")
        try:
            out[k] = convert(v)
        except ValueError:
            raise CatxError(f"{what} {it!r}: cannot read value {v!r}") from None
    return out


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Model options shared by every command that takes a SPEC."""
    p.add_argument("spec", metavar="SPEC", help="openclip:ARCH | gemm:M,K,N | PATH.onnx | module:callable "
                                                "(module:callable imports that module and calls it: it runs "
                                                "arbitrary Python code; give only code you trust)")
    p.add_argument("--tower", default="image", choices=["image", "text", "both"], help="CLIP tower (default image)")
    p.add_argument("--bits", type=int, default=None,
                   help="element bit-width of weights and activations: the IR's tensors (default 8) and, for "
                        "estimate and inspect, the hardware's datapath (default: the hardware's own widths)")
    p.add_argument("--dim", action="append", metavar="NAME=N", help="bind an ONNX dynamic dimension by name")
    p.add_argument("--shape", action="append", metavar="INPUT=D0,D1,..", help="bind an ONNX input's whole shape")
    p.add_argument("--keep-weight-compute", action="store_true",
                   help="keep compute on weights alone as ops (default: fold it, as a compiler would, and report it)")
    p.add_argument("--no-fuse", action="store_true",
                   help="keep the graph as imported (default: run the IR fusion passes: attention as one fused op, "
                        "bias/activation/normalisation epilogues joined to their contraction, mask no-ops dropped)")
    p.add_argument("--moe-load", metavar="LOAD", default="uniform",
                   help="tokens per expert of mixture-of-experts layers: uniform (default), skewed:S (Zipf "
                        "exponent S), or per-expert shares such as 0.4,0.3,0.2,0.1")


def load_from_args(args: argparse.Namespace):
    import frontend

    dims = _kv(args.dim, "--dim", int)
    shapes = _kv(args.shape, "--shape", lambda v: [int(x) for x in v.split(",")])
    bits = 8 if args.bits is None else args.bits
    if bits < 1:
        raise CatxError(f"--bits must be >= 1, got {bits}")
    return frontend.load(args.spec, tower=args.tower, bits=bits, dims=dims, shapes=shapes,
                         keep_weight_compute=getattr(args, "keep_weight_compute", False),
                         moe_load=getattr(args, "moe_load", None), fuse=not getattr(args, "no_fuse", False))


def folded_line(g, macs: int) -> str:
    """What lowering folded away (compute on weights and constants alone), for the totals."""
    f = g.meta.get("folded") or {}
    kept = "; weight compute kept as ops" if g.meta.get("keep_weight_compute") else \
        "; --keep-weight-compute keeps weight compute as ops"
    if not f.get("ops") and not f.get("unmeasured"):
        return "folded weight/constant compute: none" + kept
    share = f" ({f['macs'] / (macs + f['macs']):.1%} of all MACs)" if f.get("macs") else ""
    unmeasured = f", {f['unmeasured']} op(s) not measurable" if f.get("unmeasured") else ""
    return (f"folded weight/constant compute (not in the totals above): {f['ops']:,} ops, MACs {f['macs']:,}{share}, "
            f"vector ops {f['vector_ops']:,}, moved elements {f['moved_elements']:,}{unmeasured}{kept}")


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    import ir

    from .estimate import console_for

    quiet = json_to_stdout(args)
    console = console_for(args)
    t0 = time.perf_counter()
    with console.status(f"lowering {args.spec} ..."):
        g = load_from_args(args)
    dt = time.perf_counter() - t0
    rows = ir.op_rows(g)
    if not args.all:
        rows = [r for r in rows if r["kind"] not in ("reshape", "transpose")]
    t = ir.totals(g)
    if quiet:
        emit(args, {"graph": g.name, "ops": rows, "totals": dataclasses.asdict(t), "lower_s": dt})
        return 0
    table = Table(title=f"{g.name}: {len(g.ops)} stored ops", show_lines=False)
    for col in ("op", "source", "kind", "fn", "dims", "einsum", "MACs [count]", "vector ops [count]", "operand bytes [B]",
                "repeat [x]"):
        table.add_column(escape(col), justify="right" if "[" in col else "left")
    for r in rows:
        table.add_row(r["name"], r["source"], r["kind"], r["fn"], r["dims"], r["einsum"], f"{r['macs']:,}",
                      f"{r['vector_ops']:,}", f"{r['bytes']:,.0f}", str(r["repeat"]))
    console.print(table)
    console.print(f"[bold]totals[/]: {t.ops:,} ops executed ({t.stored_ops} stored, "
                  f"{sum(len(b.ops) for b in g.blocks)} in {len(g.blocks)} repeated block(s)), "
                  f"MACs {t.macs:,} ({t.macs / 1e9:.3f} G), vector ops {t.vector_ops:,}, params {t.param_count:,}; "
                  f"lowered in {dt:.1f} s")
    console.print(folded_line(g, t.macs))
    if args.json:
        ir.save(g, args.json)
        console.print(f"IR written to {args.json}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = parser(sub, "lower", EXAMPLES, help="lower a model to CATX IR and print its operators",
               description="Lower a model to CATX IR and print one row per stored op (repeated layers once, with "
                           "their repeat count) and the totals. A SPEC of the form module:callable imports MODULE "
                           "and calls CALLABLE(), which must return (nn.Module, example_inputs). That runs "
                           "arbitrary importable Python code with your permissions (os:abort would kill the "
                           "process): use it only with code you trust.")
    add_model_args(p)
    add_json(p, "the IR (versioned catx-ir JSON)")
    p.add_argument("--all", action="store_true", help="also list reshape/transpose ops")
    p.set_defaults(run=run)
