"""Readable text dump of a graph: one line per op (name, kind, dims, MACs, bytes), blocks marked, then totals."""

from __future__ import annotations

from .analysis import macs, operand_bytes, totals, vector_ops
from .graph import Graph


def _si(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:.0f}"


def op_rows(graph: Graph) -> list[dict]:
    """Per-op rows for tables: name, source, kind, fn, dims, einsum, macs, vector ops, bytes, repeat."""
    rows = []
    for op, k in graph.weighted_ops():
        rows.append({"name": op.name, "source": op.source, "kind": op.kind.value, "fn": op.fn,
                     "dims": "x".join(str(s) for s in op.dims.values()), "einsum": op.einsum,
                     "macs": macs(op), "vector_ops": vector_ops(op),
                     "bytes": sum(operand_bytes(op, graph).values()), "repeat": k})
    return rows


def dump(graph: Graph) -> str:
    block_of = {n: b for b in graph.blocks for n in b.ops}
    lines = [f"graph {graph.name}  inputs={graph.inputs} outputs={graph.outputs}"]
    current = None
    for r in op_rows(graph):
        b = block_of.get(r["name"])
        if b is not current:
            if b is not None:
                lines.append(f"  block {b.name} x{b.repeat} {{")
            elif current is not None:
                lines.append("  }")
            current = b
        pad = "    " if b is not None else "  "
        work = f"macs={_si(r['macs'])}" if r["macs"] else f"elems={_si(r['vector_ops'])}"
        lines.append(f"{pad}{r['name']:<28} {r['kind']:<13} {r['fn']:<14} {r['dims']:<28} {work:<14} "
                     f"bytes={_si(r['bytes'])}  [{r['einsum']}]" + (f"  <{r['source']}>" if r["source"] else ""))
    if current is not None:
        lines.append("  }")
    t = totals(graph)
    lines.append(f"totals: {t.ops} ops ({t.stored_ops} stored), MACs={_si(t.macs)}, vector ops={_si(t.vector_ops)}, "
                 f"params={_si(t.param_count)}")
    return "\n".join(lines)
