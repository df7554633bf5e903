"""Derived quantities of ops and graphs: MACs, element operations, operand bytes, arithmetic intensity, totals.

Totals count every execution: an op inside a repeated block counts ``repeat`` times.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Graph, Op, OpKind, TensorRole
from .serialize import op_from_dict


def is_contraction(op: Op) -> bool:
    """A contraction multiplies two operands and sums over at least one reduced dim."""
    if op.kind.category == "contraction":
        return True
    return op.fn == "multiply_reduce" and len(op.inputs) >= 2 and bool(op.reduce)


def macs(op: Op) -> int:
    """Multiply-accumulates of one execution (0 for non-contractions); for fused attention, QK^T plus P.V."""
    if op.kind == OpKind.ATTENTION:
        d, dv = op.dims["d"], op.dims["dv"]
        return op.iterations // (d * dv) * (d + dv)
    return op.iterations if is_contraction(op) else 0


def vector_ops(op: Op) -> int:
    """Element operations of one execution on a vector unit: a vector op's iterations; a contraction's fused
    epilogue (``attrs["epilogue"]``); the parts of a fused attention (``attrs["unfused"]``); 0 for data movement."""
    if op.kind == OpKind.ATTENTION:
        return sum(vector_ops(p) for p in attention_parts(op))
    if is_contraction(op):
        return sum(int(e["iterations"]) for e in op.attrs.get("epilogue", ()))
    if op.kind.category == "movement":
        return 0
    return op.iterations


def attention_parts(op: Op) -> list[Op]:
    """The original ops a fused ``attention`` op stands for, in order (see ``ir.attention``)."""
    return [op_from_dict(d) for d in op.attrs.get("unfused", {}).get("ops", ())]


def moved_elements(op: Op, graph: Graph) -> int:
    """Elements written by a data-movement op (0 for the others)."""
    return graph.tensors[op.output.tensor].numel if op.kind.category == "movement" else 0


def operand_bytes(op: Op, graph: Graph) -> dict[str, float]:
    """Bytes of each operand tensor, inputs then output, keyed by tensor name."""
    out = {a.tensor: graph.tensors[a.tensor].nbytes for a in op.inputs}
    out[op.output.tensor] = graph.tensors[op.output.tensor].nbytes
    return out


def arithmetic_intensity(op: Op, graph: Graph) -> float:
    """Operations (MACs or element ops) per byte of compulsory operand traffic."""
    total = sum(operand_bytes(op, graph).values())
    work = macs(op) or vector_ops(op)
    return work / total if total else 0.0


@dataclass(frozen=True)
class GraphTotals:
    ops: int                 # ops executed (repeats counted)
    stored_ops: int          # ops stored in the graph
    macs: int
    vector_ops: int
    moved_elements: int
    param_count: int         # distinct weights: shared and tied ones once, precomputed ones at their origin
    param_bytes: float
    activation_bytes: float  # bytes written by all executed ops


def weight_copies(graph: Graph) -> dict[str, int]:
    """How many weights of its size each original weight stands for: 1 for each distinct weight read anywhere
    (a tied embedding and head, a shared layer: once), more only for a block's copies beyond those recorded.

    A weight precomputed from others (``Tensor.origin``: a transposed or projected weight) counts as its
    origins; a weight a repeated block reads counts with the weights its other copies read (``Block.weights``)."""
    block_of = {n: b for b in graph.blocks for n in b.ops}
    copies: dict[str, int] = {}
    extra: dict[tuple[str, str], tuple[int, tuple[str, ...]]] = {}

    def roots(name: str) -> tuple[str, ...]:
        return graph.tensors[name].origin or (name,)

    for op in graph.ops:
        b = block_of.get(op.name)
        for a in op.inputs:
            t = a.tensor
            if graph.tensors[t].role != TensorRole.PARAM:
                continue
            names = (t, *b.weights[t]) if b is not None and t in b.weights else (t,)
            for n in names:
                for r in roots(n):
                    copies[r] = 1
            shared = len(names) > 1 and len(set(names)) == 1
            if b is not None and not shared and b.repeat > len(names):
                extra[(b.name, t)] = (b.repeat - len(names), roots(t))
    for k, rs in extra.values():
        for r in rs:
            copies[r] += k
    return copies


def totals(graph: Graph) -> GraphTotals:
    mult = graph.multiplicity()
    n = m = v = mv = 0
    act = 0.0
    for op in graph.ops:
        k = mult[op.name]
        n += k
        m += k * macs(op)
        v += k * vector_ops(op)
        mv += k * moved_elements(op, graph)
        act += k * graph.tensors[op.output.tensor].nbytes
    copies = weight_copies(graph)
    pc = sum(graph.tensors[t].numel * k for t, k in copies.items())
    pb = sum(graph.tensors[t].nbytes * k for t, k in copies.items())
    return GraphTotals(n, len(graph.ops), m, v, mv, pc, pb, act)
