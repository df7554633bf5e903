"""Repeated-block detection: identical consecutive layers are stored once with a repeat count.

Two ops are interchangeable when their kind, function, dims, index maps and operand shapes/roles agree (names
are ignored), and so do the mask facts of their constant operands (``ir.facts``: triangle pattern, uniform
value). The pass finds the tandem repeat that removes the most ops, keeps its first copy as a Block, and recurses
on what lies before and after it. Tensors produced by the dropped copies are renamed to their counterparts in the
kept copy, so later ops still read declared tensors. A kept op's source becomes the pattern of its copies' sources
(``resblocks.*.mlp.c_fc``); the weights the dropped copies read stay declared and listed in the block's
``weights``, so shared and per-layer weights both count right.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from . import facts
from .graph import Access, Block, Graph, Op, TensorRole


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


def _glob(names: tuple[str, ...]) -> str:
    """The name they share, or their common prefix and suffix around ``*`` (``fc_4``, ``fc_10`` -> ``fc_*``)."""
    if len(set(names)) == 1:
        return names[0]
    prefix = os.path.commonprefix(list(names))
    rest = [n[len(prefix):] for n in names]
    suffix = os.path.commonprefix([r[::-1] for r in rest])[::-1]
    return f"{prefix}*{suffix}"


def source_pattern(sources: list[str]) -> str:
    """One name for the copies' sources: dotted parts that differ become ``*`` (``blocks.*.mlp``)."""
    parts = [s.split(".") for s in sources]
    if len({len(p) for p in parts}) != 1:
        return _glob(tuple(sources))
    return ".".join(_glob(col) for col in zip(*parts))


def _block(graph: Graph, name: str, start: int, period: int, repeat: int) -> tuple[Block, dict[int, str]]:
    """The Block of a tandem repeat (with the weights each copy reads in place of the stored ops' weights), and
    the source pattern of each of its kept ops (by position)."""
    copies = [[graph.ops[start + c * period + i] for c in range(repeat)] for i in range(period)]
    weights: dict[str, tuple[str, ...]] = {}
    patterns = {}
    for i, ops in enumerate(copies):
        for j, a in enumerate(ops[0].inputs):
            if graph.tensors[a.tensor].role == TensorRole.PARAM and a.tensor not in weights:
                weights[a.tensor] = tuple(o.inputs[j].tensor for o in ops[1:])
        patterns[start + i] = source_pattern([o.source for o in ops])
    return Block(name, tuple(o[0].name for o in copies), repeat, weights), patterns


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
    sources: dict[int, str] = {}
    for start, p, rep in found:
        for c in range(1, rep):
            for i in range(p):
                j = start + c * p + i
                drop.add(j)
                rename[graph.ops[j].output.tensor] = graph.ops[start + i].output.tensor
        block, patterns = _block(graph, f"block{len(blocks)}", start, p, rep)
        blocks.append(block)
        sources.update(patterns)

    def rn(a: Access) -> Access:
        return Access(rename.get(a.tensor, a.tensor), a.index)

    kept = [replace(o, inputs=[rn(a) for a in o.inputs], source=sources.get(j, o.source))
            for j, o in enumerate(graph.ops) if j not in drop]
    used = {a.tensor for o in kept for a in (*o.inputs, o.output)} | set(graph.inputs)
    outputs = [rename.get(t, t) for t in graph.outputs]
    used |= set(outputs)
    used |= {w for b in blocks for names in b.weights.values() for w in names}
    used |= {r for n in list(used) for r in graph.tensors[n].origin}
    tensors = {n: t for n, t in graph.tensors.items() if n in used}
    out = Graph(graph.name, tensors, kept, list(graph.inputs), outputs, blocks, dict(graph.meta))
    facts.prune(out)
    return out


def expand_count(graph: Graph) -> int:
    """Number of ops the graph stands for once every block is unrolled."""
    return sum(k for _, k in graph.weighted_ops())
