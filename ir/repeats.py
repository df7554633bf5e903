"""Repeated-block detection: identical consecutive layers are stored once with a repeat count.

Two ops are interchangeable when their kind, function, dims, index maps and operand shapes/roles agree (names
are ignored), and so do the mask facts of their constant operands (``ir.facts``: triangle pattern, uniform
value). The pass finds the tandem repeat that removes the most ops, keeps its first copy as a Block, and recurses
on what lies before and after it. Tensors produced by the dropped copies are renamed to their counterparts in the
kept copy, so later ops still read declared tensors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import facts
from .graph import Access, Block, Graph, Op


def signature(op: Op, graph: Graph) -> tuple:
    def acc(a: Access) -> tuple:
        t = graph.tensors[a.tensor]
        f = facts.of(graph, a.tensor)  # a causal and a windowed mask differ; a bias with a zero in it does not
        return a.index, t.shape, t.bits, t.role.value, f.get("triangle"), repr(f.get("uniform"))
    return (op.kind.value, op.fn, tuple(op.dims.items()), op.reduce, op.bits,
            tuple(acc(a) for a in op.inputs), acc(op.output),
            tuple(sorted((k, repr(v)) for k, v in op.attrs.items())))


def _best_repeat(sig: np.ndarray, lo: int, hi: int, min_period: int) -> tuple[int, int, int] | None:
    """(start, period, repeat) of the tandem repeat in sig[lo:hi] that saves the most ops; ties go to the
    smaller period, then the earlier start."""
    best, best_saved = None, 0
    n = hi - lo
    seg = sig[lo:hi]
    for p in range(min_period, n // 2 + 1):
        eq = seg[:-p] == seg[p:]
        if not eq.any():
            continue
        # runs of True in eq: a run of length L starting at a means seg[a:a+L+p] is p-periodic
        padded = np.concatenate(([False], eq, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = edges[::2], edges[1::2]
        lengths = ends - starts
        saved = (lengths // p) * p
        i = int(np.argmax(saved))
        if saved[i] > best_saved:
            best_saved = int(saved[i])
            best = (lo + int(starts[i]), p, int(lengths[i] // p) + 1)
    return best


def fold_repeats(graph: Graph, min_period: int = 3) -> Graph:
    """Return a new graph in which every tandem repeat of at least ``min_period`` ops is a Block."""
    if graph.blocks:
        return graph
    ids: dict[tuple, int] = {}
    sig = np.array([ids.setdefault(signature(o, graph), len(ids)) for o in graph.ops], dtype=np.int64)
    found: list[tuple[int, int, int]] = []
    stack = [(0, len(graph.ops))]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2 * min_period:
            continue
        r = _best_repeat(sig, lo, hi, min_period)
        if r is None:
            continue
        start, p, rep = r
        found.append(r)
        stack += [(lo, start), (start + p * rep, hi)]
    if not found:
        return graph
    found.sort()
    drop: set[int] = set()
    rename: dict[str, str] = {}
    blocks = []
    for start, p, rep in found:
        for c in range(1, rep):
            for i in range(p):
                j = start + c * p + i
                drop.add(j)
                rename[graph.ops[j].output.tensor] = graph.ops[start + i].output.tensor
        blocks.append(Block(f"block{len(blocks)}", tuple(graph.ops[start + i].name for i in range(p)), rep))

    def rn(a: Access) -> Access:
        return Access(rename.get(a.tensor, a.tensor), a.index)

    kept = [replace(o, inputs=[rn(a) for a in o.inputs]) for j, o in enumerate(graph.ops) if j not in drop]
    used = {a.tensor for o in kept for a in (*o.inputs, o.output)} | set(graph.inputs)
    outputs = [rename.get(t, t) for t in graph.outputs]
    used |= set(outputs)
    tensors = {n: t for n, t in graph.tensors.items() if n in used}
    out = Graph(graph.name, tensors, kept, list(graph.inputs), outputs, blocks, dict(graph.meta))
    facts.prune(out)
    return out


def expand_count(graph: Graph) -> int:
    """Number of ops the graph stands for once every block is unrolled."""
    return sum(k for _, k in graph.weighted_ops())
