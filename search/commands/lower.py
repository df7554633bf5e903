"""``catx lower SPEC``: lower a model to IR, print the per-op table and totals, optionally write the IR JSON."""

from __future__ import annotations

import argparse
import time

from ir.errors import CatxError


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
    p.add_argument("spec", metavar="SPEC", help="openclip:ARCH | gemm:M,K,N | PATH.onnx | module:callable")
    p.add_argument("--tower", default="image", choices=["image", "text", "both"], help="CLIP tower (default image)")
    p.add_argument("--bits", type=int, default=8, help="element bit-width on the accelerator (default 8)")
    p.add_argument("--dim", action="append", metavar="NAME=N", help="bind an ONNX dynamic dimension by name")
    p.add_argument("--shape", action="append", metavar="INPUT=D0,D1,..", help="bind an ONNX input's whole shape")
    p.add_argument("--keep-weight-compute", action="store_true",
                   help="keep compute on weights alone as ops (default: fold it, as a compiler would, and report it)")
    p.add_argument("--moe-load", metavar="LOAD", default="uniform",
                   help="tokens per expert of mixture-of-experts layers: uniform (default), skewed:S (Zipf "
                        "exponent S), or per-expert shares such as 0.4,0.3,0.2,0.1")


def load_from_args(args: argparse.Namespace):
    import frontend

    dims = _kv(args.dim, "--dim", int)
    shapes = _kv(args.shape, "--shape", lambda v: [int(x) for x in v.split(",")])
    return frontend.load(args.spec, tower=args.tower, bits=args.bits, dims=dims, shapes=shapes,
                         keep_weight_compute=args.keep_weight_compute, moe_load=args.moe_load)


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
    from rich.console import Console
    from rich.table import Table

    import ir

    console = Console(width=None if Console().is_terminal else 200)
    t0 = time.perf_counter()
    with console.status(f"lowering {args.spec} ..."):
        g = load_from_args(args)
    dt = time.perf_counter() - t0
    table = Table(title=f"{g.name}: {len(g.ops)} stored ops", show_lines=False)
    for col in ("op", "source", "kind", "fn", "dims", "einsum", "MACs", "vector ops", "bytes", "x"):
        table.add_column(col, justify="right" if col in ("MACs", "vector ops", "bytes", "x") else "left")
    rows = ir.op_rows(g)
    if not args.all:
        rows = [r for r in rows if r["kind"] not in ("reshape", "transpose")]
    for r in rows:
        table.add_row(r["name"], r["source"], r["kind"], r["fn"], r["dims"], r["einsum"], f"{r['macs']:,}",
                      f"{r['vector_ops']:,}", f"{r['bytes']:,.0f}", str(r["repeat"]))
    console.print(table)
    t = ir.totals(g)
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
    p = sub.add_parser("lower", help="lower a model to CATX IR and print its operators")
    add_model_args(p)
    p.add_argument("--json", metavar="FILE", help="write the IR (versioned JSON) to FILE")
    p.add_argument("--all", action="store_true", help="also list reshape/transpose ops")
    p.set_defaults(run=run)
