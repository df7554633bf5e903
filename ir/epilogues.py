"""Epilogue fusion: bias adds, activations, residual adds and normalisations folded into the producing contraction.

``fuse_epilogues`` grows, from each contraction (matmul, batch matmul, conv), the longest run of element-wise ops,
normalisations and reshapes/transposes that consume its result such that no intermediate escapes: every
intermediate tensor is read only inside the run and is not a graph output (the contraction's result, too; a
run may be a small diamond such as SiLU's ``x * sigmoid(x)``), and only the run's last tensor is read outside.
The run must address the contraction's result through affine maps of its loop dims and must stay in the
contraction's block. A reshape after the contraction may split one of its output dims (torch flattens
``[batch, seq, width]`` to ``[batch*seq, width]`` around every linear layer): the dim becomes two, ``m`` ->
``m_hi, m_lo`` with ``m = m_hi*size(m_lo) + m_lo``, and the contraction's own index maps are rewritten to match.

The fused op stays a contraction: same kind, reduce and operand tensors (``inputs[0]``, ``inputs[1]`` are still
the GEMM operands, read at the same elements; ``backend.as_gemm`` classifies split dims like the dim they came
from), followed by the run's other operands (bias, residual, gate, norm weights) with index maps over the
contraction's dims; its output is the run's last tensor. ``attrs["epilogue"]`` lists the run's vector ops in
order, each ``{"fn", "kind", "iterations", "inputs"}`` (``iterations``: element operations per execution;
``inputs``: positions in ``op.inputs`` of the operands it reads besides the running value), plus ``"reduce"``
(the contraction dims it normalises over) for a normalisation. ``ir.macs`` is unchanged; ``ir.vector_ops`` of
the fused op is the sum of the epilogue's ``iterations``.
"""

from __future__ import annotations

import copy
from typing import Any

from .analysis import is_contraction
from .graph import Access, Graph, Op, OpKind
from .rewrite import Editor
from .validate import validate
from .views import Atoms, Layout, Untraceable, forward, layout_of, substitute

MAX_EPILOGUE = 8


def _eligible(op: Op) -> bool:
    return op.kind in (OpKind.ELEMENTWISE, OpKind.NORMALIZATION, OpKind.TRANSPOSE) or \
        (op.kind == OpKind.RESHAPE and op.fn == "reshape")


def _closed(ed: Editor, start: str, run: list[Op]) -> bool:
    inside = {o.name for o in run}
    live = [t for t in (start, *(o.output.tensor for o in run)) if ed.escapes(t, inside)]
    return live == [run[-1].output.tensor]


def _grow(ed: Editor, c: Op) -> tuple[list[Op], dict[str, Layout], list[tuple[Op, int, Layout]], Atoms] | None:
    g = ed.graph
    atoms = Atoms()
    for d, s in c.dims.items():
        atoms.new(d, s)
    try:
        layouts = {c.output.tensor: layout_of(atoms, c.output.index, {d: [("a", d)] for d in c.dims},
                                              g.tensors[c.output.tensor].shape)}
    except Untraceable:
        return None
    run: list[Op] = []
    side: list[tuple[Op, int, Layout]] = []
    best = 0
    for op in g.ops[ed.position[c.name] + 1:]:
        known = {i: layouts[a.tensor] for i, a in enumerate(op.inputs) if a.tensor in layouts}
        if not known:
            continue
        if len(run) >= MAX_EPILOGUE or not _eligible(op) or not ed.same_block([c, op]) or \
                (op.kind == OpKind.NORMALIZATION and set(known) != {0}):
            break
        try:
            out, dim_axis = forward(atoms, op, known, g.tensors[op.output.tensor].shape)
            extra = [(op, i, layout_of(atoms, a.index, dim_axis, g.tensors[a.tensor].shape))
                     for i, a in enumerate(op.inputs) if i not in known]
        except Untraceable:
            break
        run.append(op)
        side += extra
        layouts[op.output.tensor] = out
        if _closed(ed, c.output.tensor, run) and any(o.kind.category == "vector" for o in run):
            best = len(run)
    if not best:
        return None
    run = run[:best]
    names = {o.name for o in run}
    return run, layouts, [s for s in side if s[0].name in names], atoms


def _fuse_one(ed: Editor, c: Op, run: list[Op], layouts: dict[str, Layout], side: list[tuple[Op, int, Layout]],
              atoms: Atoms) -> Op:
    inputs = list(c.inputs)
    where: dict[tuple[str, int], int] = {}
    for op, i, lay in side:
        acc = Access(op.inputs[i].tensor, tuple(atoms.expr(axis) for axis in lay))
        if acc not in inputs:
            inputs.append(acc)
        where[(op.name, i)] = inputs.index(acc)
    entries: list[dict[str, Any]] = list(c.attrs.get("epilogue", ()))
    for op in run:
        if op.kind.category != "vector":
            continue
        e = {"fn": op.fn, "kind": op.kind.value, "iterations": op.iterations,
             "inputs": [where[(op.name, i)] for i in range(len(op.inputs)) if (op.name, i) in where]}
        if op.kind == OpKind.NORMALIZATION:
            known = {i: layouts[a.tensor] for i, a in enumerate(op.inputs) if a.tensor in layouts and i == 0}
            _, dim_axis = forward(atoms, op, known, ed.graph.tensors[op.output.tensor].shape)
            e["reduce"] = [d[1] for r in op.reduce for d in atoms.expand(dim_axis[r])]
        entries.append(e)
    last = run[-1].output.tensor
    output = Access(last, tuple(atoms.expr(axis) for axis in layouts[last]))
    dims: dict[str, int] = {}
    for d, s in c.dims.items():
        parts = [leaf[1] for leaf in atoms.leaves(("a", d))] if d in atoms.split else [d]
        dims.update({p: atoms.size[p] for p in parts})
    inputs = [Access(a.tensor, tuple(substitute(atoms, e) for e in a.index)) for a in inputs]
    return Op(c.name, c.kind, dims, inputs, output, reduce=c.reduce, fn=c.fn, bits=c.bits,
              provenance=(*c.provenance, *(p for o in run for p in o.provenance)),
              attrs={**c.attrs, "epilogue": entries}, source=c.source)


def fuse_epilogues(graph: Graph) -> Graph:
    """Return a new graph in which each contraction absorbs its closed epilogue (see the module docstring)."""
    ed = Editor(copy.deepcopy(graph))
    for c in list(ed.graph.ops):
        if c.name not in ed.position or not is_contraction(c) or c.kind == OpKind.ATTENTION:
            continue
        c = ed.graph.ops[ed.position[c.name]]
        grown = _grow(ed, c)
        if grown is None:
            continue
        try:
            fused = _fuse_one(ed, c, *grown)
        except Untraceable:  # an opaque index of the contraction uses a dim the epilogue splits
            continue
        ed.replace([c, *grown[0]], fused)
    return validate(ed.finish())
