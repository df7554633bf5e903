"""Drop provable no-ops that attention decompositions leave on the score tensor (masks, NaN guards).

torch's scaled-dot-product-attention decomposition guards its softmax against fully masked rows::

    out  = softmax(x)                                     # NaN on a row where every x is -inf
    dead = logical_not(max(logical_not(equal(x, -inf))))  # "every element of the row is -inf"
    y    = where(dead, zeros, out)

and a mask that masks nothing arrives as ``where(all_false, -inf, x)`` or ``x + zeros``. ``drop_mask_artefacts``
removes such an op on the scores (its result flows into a softmax, or it keeps a softmax's result) by rewiring its
readers to the operand it provably returns, then removes the ops that only fed it. Everything that can change a
value stays, and so do ops elsewhere whose constant operand merely happens to be 0 or 1 (a zero-initialised
position embedding read from ONNX initializers is a weight, not an artefact).

Proof obligations, one per rewrite (facts of constants come from ``ir.facts``; an absent fact is unknown):

- ``where(c, a, b)`` -> ``a`` when ``c`` is all nonzero, -> ``b`` when ``c`` is all zero;
  ``x + z``, ``x - z`` -> ``x`` when ``z`` is all zero; ``x * u``, ``x / u`` -> ``x`` when ``u`` is all one.
  The kept operand must have the output's shape and be read at the output's index (no broadcast is lost).
- The NaN guard above -> ``out`` when no row (fibre along the softmax axis) of ``x`` is entirely -inf. That holds
  when every fibre of ``x`` provably holds a finite element, derived backwards from ``x``'s producers:
  a contraction's result is finite (assumption: weights and activations entering a contraction are finite and
  the accumulation does not overflow; a model violating it produces NaN anyway); graph inputs are finite; a
  constant is finite, or keeps a finite element per fibre, by its facts; ``+ - *`` of finite operands and a
  view of a finite tensor are finite; ``/`` by a finite constant without zeros is finite; ``y + m`` keeps a
  finite element per fibre when ``y`` is finite and every fibre of the mask ``m`` holds a finite element;
  ``where(c, -inf, y)`` does when ``y`` is finite and every fibre of ``c`` holds a zero (``where(c, y, -inf)``:
  a nonzero). Anything else is unknown, and the guard stays.
"""

from __future__ import annotations

import copy

from . import facts
from . import index as ix
from .analysis import is_contraction
from .graph import Graph, Op, OpKind, TensorRole
from .rewrite import Editor
from .validate import validate

_FINITE_ARITH = {"add", "subtract", "multiply", "negative", "abs", "maximum", "minimum", "where", "tanh", "sigmoid",
                 "relu"}


def _identity(op: Op, i: int) -> bool:
    """Input ``i`` is read at the output's own index (same shape, no broadcast)."""
    return tuple(op.inputs[i].index) == tuple(op.output.index) and all(ix.is_plain(e) for e in op.output.index)


def _fact(ed: Editor, tensor: str, key: str):
    return facts.of(ed.graph, tensor).get(key)


def finite(ed: Editor, tensor: str, depth: int = 0) -> bool:
    """Every element of ``tensor`` is provably finite (see the module docstring)."""
    g = ed.graph
    if _fact(ed, tensor, "finite") is True:
        return True
    if depth > 32:
        return False
    op = ed.producer.get(tensor)
    if op is None:
        return g.tensors[tensor].role == TensorRole.INPUT
    if is_contraction(op):
        return True
    if op.kind in (OpKind.RESHAPE, OpKind.TRANSPOSE, OpKind.SLICE) and len(op.inputs) == 1:
        return finite(ed, op.inputs[0].tensor, depth + 1)
    if op.kind != OpKind.ELEMENTWISE:
        return False
    ins = [a.tensor for a in op.inputs]
    if op.fn == "divide" and len(ins) == 2:
        return finite(ed, ins[0], depth + 1) and _fact(ed, ins[1], "all_nonzero") is True \
            and _fact(ed, ins[1], "finite") is True
    if op.fn == "where" and len(ins) == 3:
        return finite(ed, ins[1], depth + 1) and finite(ed, ins[2], depth + 1)
    return op.fn in _FINITE_ARITH and all(finite(ed, t, depth + 1) for t in ins)


def _axis_of(access_index: tuple[str, ...], dim: str) -> int | None:
    for j, e in enumerate(access_index):
        if e == dim:
            return j
    return None


def _fibre_fact(ed: Editor, op: Op, i: int, dim: str, key: str, whole: str) -> bool:
    """Every fibre along ``dim`` of input ``i`` of ``op`` satisfies fact ``key`` (``whole``: the fact that
    decides it when the input is broadcast along ``dim``)."""
    a = op.inputs[i]
    axis = _axis_of(a.index, dim)
    if axis is None:
        return _fact(ed, a.tensor, whole) is True
    return axis in (_fact(ed, a.tensor, key) or [])


def fibres_finite(ed: Editor, tensor: str, axis: int) -> bool:
    """Every fibre of ``tensor`` along ``axis`` holds a finite element."""
    if finite(ed, tensor) or axis in (_fact(ed, tensor, "any_finite_along") or []):
        return True
    op = ed.producer.get(tensor)
    if op is None or op.kind != OpKind.ELEMENTWISE or not ix.is_plain(op.output.index[axis]):
        return False
    dim = op.output.index[axis]
    ins = [a.tensor for a in op.inputs]
    if op.fn in ("add", "subtract") and len(ins) == 2:
        for y in (0, 1):
            if _identity(op, 1 - y) and finite(ed, ins[1 - y]) and _fibre_fact(ed, op, y, dim, "any_finite_along",
                                                                             "finite"):
                return True
        return False
    if op.fn == "where" and len(ins) == 3:
        if _identity(op, 2) and finite(ed, ins[2]) and _fibre_fact(ed, op, 0, dim, "any_zero_along", "all_zero"):
            return True
        if _identity(op, 1) and finite(ed, ins[1]) and _fibre_fact(ed, op, 0, dim, "any_nonzero_along",
                                                                   "all_nonzero"):
            return True
    return False


def _is_scalar(ed: Editor, tensor: str, value: float) -> bool:
    return ed.graph.tensors[tensor].numel == 1 and facts.number(_fact(ed, tensor, "value")) == value


def _all_neg_inf(ed: Editor, cond: str) -> tuple[str, int] | None:
    """(x, axis) when ``cond`` is ``all(x == -inf)`` along ``axis`` (kept as a size-1 axis), as torch spells it."""
    op = ed.producer.get(cond)
    if op is None:
        return None
    if op.kind == OpKind.ELEMENTWISE and op.fn == "logical_not" and _identity(op, 0):
        red = ed.producer.get(op.inputs[0].tensor)
        if red is None or red.kind != OpKind.REDUCTION or red.fn not in ("max", "any") or len(red.reduce) != 1:
            return None
        neg = ed.producer.get(red.inputs[0].tensor)
        if neg is None or neg.fn != "logical_not" or not _identity(neg, 0):
            return None
        eq = ed.producer.get(neg.inputs[0].tensor)
    elif op.kind == OpKind.REDUCTION and op.fn in ("min", "all") and len(op.reduce) == 1:
        red = op
        eq = ed.producer.get(op.inputs[0].tensor)
    else:
        return None
    if eq is None or eq.kind != OpKind.ELEMENTWISE or eq.fn != "equal" or len(eq.inputs) != 2:
        return None
    x = [i for i in (0, 1) if _identity(eq, i) and _is_scalar(ed, eq.inputs[1 - i].tensor, float("-inf"))]
    if not x or tuple(red.inputs[0].index) != tuple(red.dims):
        return None
    axis = list(red.dims).index(red.reduce[0])
    if red.output.index[axis] != "0":
        return None
    return eq.inputs[x[0]].tensor, axis


def _guard_target(ed: Editor, op: Op) -> str | None:
    """The softmax output that a provably idle NaN guard ``where(all(x == -inf), z, softmax(x))`` returns."""
    if op.fn != "where" or len(op.inputs) != 3 or not _identity(op, 2):
        return None
    found = _all_neg_inf(ed, op.inputs[0].tensor)
    sm = ed.producer.get(op.inputs[2].tensor)
    if found is None or sm is None or sm.kind != OpKind.SOFTMAX or sm.fn != "softmax" or not _identity(sm, 0):
        return None
    x, axis = found
    if sm.inputs[0].tensor != x or list(sm.dims).index(sm.reduce[0]) != axis:
        return None
    cond = op.inputs[0].index
    if cond[axis] != "0" or any(e != o for j, (e, o) in enumerate(zip(cond, op.output.index)) if j != axis):
        return None
    return op.inputs[2].tensor if fibres_finite(ed, x, axis) else None


def _simple_target(ed: Editor, op: Op) -> str | None:
    """The operand a where/add/multiply with an all-true/all-false/zero/one constant provably returns."""
    ins = [a.tensor for a in op.inputs]
    if op.fn == "where" and len(ins) == 3:
        c = facts.of(ed.graph, ins[0])
        keep = 1 if c.get("all_nonzero") is True else 2 if c.get("all_zero") is True else None
        return ins[keep] if keep is not None and _identity(op, keep) else None
    if len(ins) != 2:
        return None
    for keep in (0, 1):
        other = facts.of(ed.graph, ins[1 - keep])
        zero = other.get("all_zero") is True
        one = facts.number(other.get("uniform")) == 1.0
        if not _identity(op, keep):
            continue
        if (op.fn == "add" and zero) or (op.fn == "multiply" and one) or \
                (keep == 0 and ((op.fn == "subtract" and zero) or (op.fn == "divide" and one))):
            return ins[keep]
    return None


def _on_scores(ed: Editor, op: Op, keep: str, depth: int = 8) -> bool:
    """``op`` acts on attention scores: its result flows through element-wise ops and views into a softmax, or
    the operand it keeps is a softmax's result (learned weights elsewhere that happen to be 0 or 1 stay)."""
    kept = ed.producer.get(keep)
    if kept is not None and kept.kind == OpKind.SOFTMAX:
        return True
    work = [(op.output.tensor, 0)]
    while work:
        t, n = work.pop()
        for r in ed.readers.get(t, ()):
            if r.kind == OpKind.SOFTMAX:
                return True
            if n < depth and r.kind in (OpKind.ELEMENTWISE, OpKind.RESHAPE, OpKind.TRANSPOSE):
                work.append((r.output.tensor, n + 1))
    return False


def _remove_dead(ed: Editor, tensors: list[str]) -> int:
    """Remove the producers of ``tensors`` that nothing reads any more, and theirs in turn."""
    removed, work = 0, list(tensors)
    while work:
        t = work.pop()
        op = ed.producer.get(t)
        if op is None or ed.readers.get(t) or t in ed.graph.outputs:
            continue
        ed.remove(op)
        removed += 1
        work += [a.tensor for a in op.inputs]
    return removed


def drop_mask_artefacts(graph: Graph) -> Graph:
    """Return a new graph without the provable no-ops described in this module's docstring."""
    ed = Editor(copy.deepcopy(graph))
    changed = True
    while changed:
        changed = False
        for op in list(ed.graph.ops):
            if op.kind != OpKind.ELEMENTWISE or op.name not in ed.position:
                continue
            keep = _simple_target(ed, op)
            if keep is not None and not _on_scores(ed, op, keep):
                keep = None
            keep = keep or _guard_target(ed, op)
            if keep is None:
                continue
            out = op.output.tensor
            ed.remove(op)
            ed.rewire(out, keep)
            _remove_dead(ed, [a.tensor for a in op.inputs])
            changed = True
    return validate(ed.finish())
