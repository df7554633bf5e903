"""Reductions (sum, mean, max, variance, arg-max, ...), softmax and normalisations over some axes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ir import OpKind

from ..registry import register
from .common import attr, axes, ints, op_suffix, out_dims

if TYPE_CHECKING:
    from ..relax_to_ir import Converter


def reduction(cv: Converter, call: Any, out: str) -> None:
    x = cv.arg(call, 0)
    sx = cv.shape(x)
    ax = ints(attr(call, "axis"))
    ax = list(range(len(sx))) if ax is None else axes(ax, len(sx))
    keep = bool(attr(call, "keepdims", False))
    dims = out_dims(sx)
    red = tuple(f"i{a}" for a in ax)
    o_ix = tuple(("0" if d in red else d) for d in dims) if keep else tuple(d for d in dims if d not in red)
    cv.emit(OpKind.REDUCTION, op_suffix(call), dims, [(x, tuple(dims))], (out, o_ix), reduce=red)


def softmax(cv: Converter, call: Any, out: str) -> None:
    x = cv.arg(call, 0)
    dims = out_dims(cv.shape(x))
    ax = int(attr(call, "axis", -1)) % len(dims)
    cv.emit(OpKind.SOFTMAX, op_suffix(call), dims, [(x, tuple(dims))], (out, tuple(dims)), reduce=(f"i{ax}",))


def norm(cv: Converter, call: Any, out: str) -> None:
    x = cv.arg(call, 0)
    dims = out_dims(cv.shape(x))
    red = tuple(f"i{a}" for a in axes(ints(attr(call, "axes")) or [-1], len(dims)))
    ins = [(x, tuple(dims))]
    for i in range(1, len(call.args)):
        t = cv.arg(call, i)
        if isinstance(t, str):
            ins.append((t, red[len(red) - len(cv.shape(t)):]))
    cv.emit(OpKind.NORMALIZATION, op_suffix(call), dims, ins, (out, tuple(dims)), reduce=red,
            epsilon=float(attr(call, "epsilon", 1e-5)))


register("relax.sum", reduction)
register("relax.mean", reduction)
register("relax.max", reduction)
register("relax.min", reduction)
register("relax.prod", reduction)
register("relax.variance", reduction)
register("relax.std", reduction)
register("relax.argmax", reduction)
register("relax.argmin", reduction)
register("relax.nn.softmax", softmax)
register("relax.nn.log_softmax", softmax)
register("relax.nn.layer_norm", norm)
register("relax.nn.rms_norm", norm)
