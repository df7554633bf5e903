"""Data movement: reshapes, transposes, broadcasts, slices, splits, concatenation, gathers and padding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ir import OpKind, TensorRole

from ..registry import register
from .common import attr, axes, broadcast_index, ints, linear, op_suffix, out_dims

if TYPE_CHECKING:
    from ..relax_to_ir import Converter


def reshape(cv: Converter, call: Any, out: str) -> str | None:
    x = cv.arg(call, 0)
    sx, so = cv.shape(x), cv.shape(out)
    if sx == so:
        return x
    dims = out_dims(so)
    lin = linear(dims)
    ix, stride = [], 1
    for s in reversed(sx):
        ix.append("0" if s == 1 else f"@({lin})//{stride}%{s}" if stride > 1 else f"@({lin})%{s}")
        stride *= s
    cv.emit(OpKind.RESHAPE, "reshape", dims, [(x, tuple(reversed(ix)))], (out, tuple(dims)))
    return None


def permute(cv: Converter, call: Any, out: str) -> str | None:
    x = cv.arg(call, 0)
    so = cv.shape(out)
    order = ints(attr(call, "axes")) or list(reversed(range(len(so))))
    if order == list(range(len(so))):
        return x
    dims = out_dims(so)
    ix = [""] * len(so)
    for p, a in enumerate(order):
        ix[a] = f"i{p}"
    cv.emit(OpKind.TRANSPOSE, "transpose", dims, [(x, tuple(ix))], (out, tuple(dims)), axes=order)
    return None


def broadcast_to(cv: Converter, call: Any, out: str) -> str | None:
    x = cv.arg(call, 0)
    if cv.shape(x) == cv.shape(out):
        return x
    dims = out_dims(cv.shape(out))
    cv.emit(OpKind.RESHAPE, "broadcast_to", dims, [(x, broadcast_index(cv.shape(x), dims))], (out, tuple(dims)))
    return None


def strided_slice(cv: Converter, call: Any, out: str) -> None:
    x = cv.arg(call, 0)
    sx, so = cv.shape(x), cv.shape(out)
    sliced = axes(cv.arg(call, 1), len(sx))
    begin = cv.arg(call, 2)
    strides = cv.arg(call, 4) if len(call.args) > 4 else [1] * len(sliced)
    dims = out_dims(so)
    ix = list(dims)
    for a, b, st in zip(sliced, begin, strides):
        b = int(b) % sx[a] if int(b) < 0 else min(int(b), sx[a] - 1)
        e = f"i{a}" if int(st) == 1 else f"i{a}*{int(st)}"
        ix[a] = "0" if so[a] == 1 and sx[a] == 1 else (f"{e}+{b}" if b else e)
    cv.emit(OpKind.SLICE, "strided_slice", dims, [(x, tuple(ix))], (out, tuple(dims)))


def split(cv: Converter, call: Any, out: tuple[str, ...]) -> None:
    x = cv.arg(call, 0)
    ax = int(attr(call, "axis", 0)) % len(cv.shape(x))
    offset = 0
    for o in out:
        so = cv.shape(o)
        dims = out_dims(so)
        ix = list(dims)
        ix[ax] = f"i{ax}+{offset}" if offset else f"i{ax}"
        cv.emit(OpKind.SLICE, "split", dims, [(x, tuple(ix))], (o, tuple(dims)))
        offset += so[ax]


def concat(cv: Converter, call: Any, out: str) -> None:
    so = cv.shape(out)
    ax = int(attr(call, "axis", 0)) % len(so)
    dims = out_dims(so)
    ins = []
    for t in cv.arg(call, 0):
        ix = list(dims)
        ix[ax] = "0" if cv.shape(t)[ax] == 1 else f"@concat(i{ax})"
        ins.append((t, tuple(ix)))
    cv.emit(OpKind.CONCAT, "concat", dims, ins, (out, tuple(dims)), axis=ax)


def take(cv: Converter, call: Any, out: str) -> None:
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    sx, si, so = cv.shape(x), cv.shape(idx), cv.shape(out)
    ax = int(attr(call, "axis", 0) or 0) % len(sx)
    dims = out_dims(so)
    names = list(dims)
    idx_dims = names[ax:ax + len(si)]
    const = cv.const_value(idx)
    if const is not None and const.ndim == 0:  # x[c] along an axis: a slice at a fixed offset
        ix = names[:ax] + [str(int(const))] + names[ax + len(si):]
        cv.emit(OpKind.SLICE, "take", dims, [(x, tuple(ix))], (out, tuple(dims)))
        return
    ix = names[:ax] + [f"@take({','.join(idx_dims)})"] + names[ax + len(si):]
    kind = OpKind.EMBEDDING if cv.role(x) == TensorRole.PARAM else OpKind.GATHER
    cv.emit(kind, "take", dims, [(x, tuple(ix)), (idx, tuple(idx_dims))], (out, tuple(dims)))


def index_tensor(cv: Converter, call: Any, out: str) -> None:
    """Advanced indexing ``x[i0, i1, ...]``: a gather; the index tensors broadcast to the leading output dims."""
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    idx = list(idx) if isinstance(idx, tuple) else [idx]
    sx, so = cv.shape(x), cv.shape(out)
    dims = out_dims(so)
    names = list(dims)
    nb = len(so) - (len(sx) - len(idx))
    lead = {n: dims[n] for n in names[:nb]}
    ix = [f"@gather({','.join(lead)})"] * len(idx) + names[nb:]
    ins = [(x, tuple(ix))] + [(t, broadcast_index(cv.shape(t), lead)) for t in idx]
    cv.emit(OpKind.GATHER, "index_tensor", dims, ins, (out, tuple(dims)))


def gather(cv: Converter, call: Any, out: str) -> None:
    """Data-dependent reads: every output element reads one input element chosen by an index tensor."""
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    dims = out_dims(cv.shape(out))
    lead = list(dims)[:len(cv.shape(idx))]
    fn = op_suffix(call)
    x_ix = tuple(f"@{fn}({','.join(dims)})" for _ in cv.shape(x))
    idx_ix = tuple("0" if s == 1 else lead[j] if j < len(lead) and s == dims[lead[j]] else f"@index({','.join(dims)})"
                   for j, s in enumerate(cv.shape(idx)))
    cv.emit(OpKind.GATHER, fn, dims, [(x, x_ix), (idx, idx_ix)], (out, tuple(dims)))


def index_put(cv: Converter, call: Any, out: str) -> None:
    """``out = data; out[idx] = values`` (``+=`` with accumulate): one write per value element, at positions
    chosen by the index tensors (an add each when accumulating, a vector op; else data movement)."""
    data, idx, values = cv.arg(call, 0), cv.arg(call, 1), cv.arg(call, 2)
    idx = list(idx) if isinstance(idx, tuple) else [idx]
    dims = out_dims(cv.shape(values))
    at = tuple(f"@scatter({','.join(dims)})" for _ in cv.shape(out))
    ins = [(values, tuple(dims)), *((t, broadcast_index(cv.shape(t), dims)) for t in idx), (data, at)]
    accumulate = bool(attr(call, "accumulate", False))
    cv.emit(OpKind.ELEMENTWISE if accumulate else OpKind.GATHER, "index_add" if accumulate else "index_put", dims,
            ins, (out, at))


def pad(cv: Converter, call: Any, out: str) -> None:
    x = cv.arg(call, 0)
    widths = ints(attr(call, "pad_width")) or []
    dims = out_dims(cv.shape(out))
    ix = []
    for j, d in enumerate(dims):
        before = widths[2 * j] if 2 * j < len(widths) else 0
        ix.append(f"{d}-{before}" if before else d)
    cv.emit(OpKind.PAD, "pad", dims, [(x, tuple(ix))], (out, tuple(dims)), padded=True)


register("relax.reshape", reshape)
register("relax.expand_dims", reshape)
register("relax.squeeze", reshape)
register("relax.flatten", reshape)
register("relax.permute_dims", permute)
register("relax.broadcast_to", broadcast_to)
register("relax.strided_slice", strided_slice)
register("relax.split", split)
register("relax.concat", concat)
register("relax.take", take)
register("relax.index_tensor", index_tensor)
register("relax.gather_nd", gather)
register("relax.gather_elements", gather)
register("relax.index_put", index_put)
register("relax.nn.pad", pad)
