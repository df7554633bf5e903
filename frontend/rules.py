"""The Relax op table: one small rule per Relax op name, turning a call into IR ops with index maps.

Dims are named ``i0, i1, ...`` after the output's axes for element-wise and movement ops, ``b0.., m, n, k`` for
matmuls and ``n, g, oc, oh, ow, ic, kh, kw`` for convolutions. Adding support for an op is adding a row here.
"""

from __future__ import annotations

from typing import Any

from tvm import relax

from ir import OpKind, TensorRole

from .relax_to_ir import Converter, rule


def _attr(call: relax.Call, name: str, default: Any = None) -> Any:
    attrs = call.attrs
    if attrs is None or not hasattr(attrs, name):
        return default
    v = getattr(attrs, name)
    return v


def _ints(v: Any) -> list[int] | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) or hasattr(v, "value"):
        return [int(v)]
    return [int(x) for x in v]


def _axes(v: Any, rank: int) -> list[int]:
    return [int(a) % rank for a in v]


def _out_dims(shape: tuple[int, ...], prefix: str = "i") -> dict[str, int]:
    return {f"{prefix}{j}": s for j, s in enumerate(shape)}


def _broadcast_index(in_shape: tuple[int, ...], out_dims: dict[str, int]) -> tuple[str, ...]:
    """Numpy broadcasting: input axes align right; a size-1 axis against a larger one reads index 0."""
    names = list(out_dims)[len(out_dims) - len(in_shape):]
    return tuple(n if s == out_dims[n] else "0" for n, s in zip(names, in_shape))


# --- contractions ----------------------------------------------------------------------------------------------
@rule("relax.matmul")
def matmul(cv: Converter, call: relax.Call, out: str) -> None:
    a, b = cv.arg(call, 0), cv.arg(call, 1)
    sa, sb, so = cv.shape(a), cv.shape(b), cv.shape(out)
    a2 = len(sa) >= 2
    b2 = len(sb) >= 2
    M = sa[-2] if a2 else 1
    K = sa[-1]
    N = sb[-1] if b2 else 1
    nbatch = len(so) - (1 if a2 else 0) - (1 if b2 else 0)
    dims = {f"b{j}": so[j] for j in range(nbatch)}
    dims.update({"m": M, "n": N, "k": K})
    bdims = {f"b{j}": so[j] for j in range(nbatch)}
    a_batch = _broadcast_index(sa[:-2], bdims) if a2 else ()
    b_batch = _broadcast_index(sb[:-2], bdims) if b2 else ()
    a_ix = (*a_batch, "m", "k") if a2 else ("k",)
    b_ix = (*b_batch, "k", "n") if b2 else ("k",)
    o_ix = (*bdims, *(("m",) if a2 else ()), *(("n",) if b2 else ()))
    batched_b = any(ix != "0" for ix in b_batch)
    kind = OpKind.BATCH_MATMUL if batched_b else OpKind.MATMUL
    cv.emit(kind, "matmul", dims, [(a, a_ix), (b, b_ix)], (out, o_ix), reduce=("k",))


def _conv(cv: Converter, call: relax.Call, out: str, nsp: int) -> None:
    layout = _attr(call, "data_layout", "NCHW")
    if str(layout) not in ("NCW", "NCHW", "NCDHW"):
        from .tir_generic import convert_generic_call
        return convert_generic_call(cv, call, out)
    x, w = cv.arg(call, 0), cv.arg(call, 1)
    sw, so = cv.shape(w), cv.shape(out)
    strides = _ints(_attr(call, "strides")) or [1] * nsp
    dil = _ints(_attr(call, "dilation")) or [1] * nsp
    pad = _ints(_attr(call, "padding")) or [0] * (2 * nsp)
    groups = int(_attr(call, "groups", 1))
    sp_out, sp_k = "hwd"[:nsp], "hwd"[:nsp]
    ocg, icg = sw[0] // groups, sw[1]
    dims: dict[str, int] = {"n": so[0]}
    if groups > 1:
        dims["g"] = groups
    dims["oc"] = ocg
    for j in range(nsp):
        dims[f"o{sp_out[j]}"] = so[2 + j]
    dims["ic"] = icg
    for j in range(nsp):
        dims[f"k{sp_k[j]}"] = sw[2 + j]
    gpre = f"g*{icg}+" if groups > 1 else ""
    opre = f"g*{ocg}+" if groups > 1 else ""
    x_ix = ["n", f"{gpre}ic"]
    for j in range(nsp):
        o = f"o{sp_out[j]}" + (f"*{strides[j]}" if strides[j] != 1 else "")
        e = f"{o}+k{sp_k[j]}" + (f"*{dil[j]}" if dil[j] != 1 else "")
        if pad[j]:
            e += f"-{pad[j]}"
        x_ix.append(e)
    w_ix = [f"{opre}oc", "ic", *(f"k{sp_k[j]}" for j in range(nsp))]
    o_ix = ["n", f"{opre}oc", *(f"o{sp_out[j]}" for j in range(nsp))]
    reduce = ("ic", *(f"k{sp_k[j]}" for j in range(nsp)))
    extra = {"padded": True} if any(pad) else {}
    cv.emit(OpKind.CONV, f"conv{nsp}d", dims, [(x, tuple(x_ix)), (w, tuple(w_ix))], (out, tuple(o_ix)),
            reduce=reduce, strides=strides, padding=pad, dilation=dil, groups=groups, **extra)


@rule("relax.nn.conv1d")
def conv1d(cv: Converter, call: relax.Call, out: str) -> None:
    _conv(cv, call, out, 1)


@rule("relax.nn.conv2d")
def conv2d(cv: Converter, call: relax.Call, out: str) -> None:
    _conv(cv, call, out, 2)


# --- element-wise ----------------------------------------------------------------------------------------------
_ELEMENTWISE = [
    "add", "subtract", "multiply", "divide", "floor_divide", "power", "maximum", "minimum", "equal", "not_equal",
    "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_not", "where",
    "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "erf", "negative", "abs", "sin", "cos", "clip", "floor",
    "ceil", "round", "square", "nn.gelu", "nn.gelu_tanh", "nn.silu", "nn.relu", "nn.leakyrelu", "nn.softplus",
    "bitwise_and", "bitwise_or", "mod", "floor_mod", "sign", "isnan", "isinf", "log1p", "trunc", "nn.prelu",
]


@rule(*(f"relax.{n}" for n in _ELEMENTWISE))
def elementwise(cv: Converter, call: relax.Call, out: str) -> None:
    dims = _out_dims(cv.shape(out))
    ins = [t for t in (cv.arg(call, i) for i in range(len(call.args))) if isinstance(t, str)]
    fn = call.op.name.split(".")[-1]
    cv.emit(OpKind.ELEMENTWISE, fn, dims, [(t, _broadcast_index(cv.shape(t), dims)) for t in ins],
            (out, tuple(dims)))


@rule("relax.cumsum", "relax.cumprod")
def scan(cv: Converter, call: relax.Call, out: str) -> None:
    """A running sum/product along one axis: one vector operation per element, like an element-wise op."""
    x = cv.arg(call, 0)
    dims = _out_dims(cv.shape(out))
    cv.emit(OpKind.ELEMENTWISE, call.op.name.split(".")[-1], dims, [(x, tuple(dims))], (out, tuple(dims)),
            axis=int(_attr(call, "axis", -1) or 0))


@rule("relax.astype", "relax.nn.dropout", "relax.wrap_param", "relax.stop_gradient")
def no_op(cv: Converter, call: relax.Call, out: str) -> str:
    x = cv.arg(call, 0)
    return x[0] if isinstance(x, tuple) else x


@rule("relax.full_like", "relax.zeros_like", "relax.ones_like")
def fill_like(cv: Converter, call: relax.Call, out: str) -> None:
    """A constant tensor shaped like an activation: its value does not depend on the input."""
    cv.graph.tensors[out].role = TensorRole.CONST


# --- reductions, softmax, normalisation --------------------------------------------------------------------------
@rule("relax.sum", "relax.mean", "relax.max", "relax.min", "relax.prod", "relax.variance", "relax.std",
      "relax.argmax", "relax.argmin")
def reduction(cv: Converter, call: relax.Call, out: str) -> None:
    x = cv.arg(call, 0)
    sx = cv.shape(x)
    axes = _ints(_attr(call, "axis"))
    axes = list(range(len(sx))) if axes is None else _axes(axes, len(sx))
    keep = bool(_attr(call, "keepdims", False))
    dims = _out_dims(sx)
    red = tuple(f"i{a}" for a in axes)
    o_ix = tuple(("0" if d in red else d) for d in dims) if keep else tuple(d for d in dims if d not in red)
    cv.emit(OpKind.REDUCTION, call.op.name.split(".")[-1], dims, [(x, tuple(dims))], (out, o_ix), reduce=red)


@rule("relax.nn.softmax", "relax.nn.log_softmax")
def softmax(cv: Converter, call: relax.Call, out: str) -> None:
    x = cv.arg(call, 0)
    dims = _out_dims(cv.shape(x))
    ax = int(_attr(call, "axis", -1)) % len(dims)
    cv.emit(OpKind.SOFTMAX, call.op.name.split(".")[-1], dims, [(x, tuple(dims))], (out, tuple(dims)),
            reduce=(f"i{ax}",))


@rule("relax.nn.layer_norm", "relax.nn.rms_norm")
def norm(cv: Converter, call: relax.Call, out: str) -> None:
    x = cv.arg(call, 0)
    dims = _out_dims(cv.shape(x))
    axes = _axes(_ints(_attr(call, "axes")) or [-1], len(dims))
    red = tuple(f"i{a}" for a in axes)
    ins = [(x, tuple(dims))]
    for i in range(1, len(call.args)):
        t = cv.arg(call, i)
        if isinstance(t, str):
            ins.append((t, red[len(red) - len(cv.shape(t)):]))
    cv.emit(OpKind.NORMALIZATION, call.op.name.split(".")[-1], dims, ins, (out, tuple(dims)), reduce=red,
            epsilon=float(_attr(call, "epsilon", 1e-5)))


# --- data movement ------------------------------------------------------------------------------------------------
def _linear(dims: dict[str, int]) -> str:
    """Row-major linear index over ``dims`` as text."""
    terms, stride = [], 1
    for d, s in reversed(list(dims.items())):
        if s > 1:
            terms.append(d if stride == 1 else f"{d}*{stride}")
        stride *= s
    return "+".join(reversed(terms)) or "0"


@rule("relax.reshape", "relax.expand_dims", "relax.squeeze", "relax.flatten")
def reshape(cv: Converter, call: relax.Call, out: str) -> str | None:
    x = cv.arg(call, 0)
    sx, so = cv.shape(x), cv.shape(out)
    if sx == so:
        return x
    dims = _out_dims(so)
    lin = _linear(dims)
    ix, stride = [], 1
    for s in reversed(sx):
        ix.append("0" if s == 1 else f"@({lin})//{stride}%{s}" if stride > 1 else f"@({lin})%{s}")
        stride *= s
    cv.emit(OpKind.RESHAPE, "reshape", dims, [(x, tuple(reversed(ix)))], (out, tuple(dims)))
    return None


@rule("relax.permute_dims")
def permute(cv: Converter, call: relax.Call, out: str) -> str | None:
    x = cv.arg(call, 0)
    so = cv.shape(out)
    axes = _ints(_attr(call, "axes")) or list(reversed(range(len(so))))
    if axes == list(range(len(so))):
        return x
    dims = _out_dims(so)
    ix = [""] * len(so)
    for p, a in enumerate(axes):
        ix[a] = f"i{p}"
    cv.emit(OpKind.TRANSPOSE, "transpose", dims, [(x, tuple(ix))], (out, tuple(dims)), axes=axes)
    return None


@rule("relax.broadcast_to")
def broadcast_to(cv: Converter, call: relax.Call, out: str) -> str | None:
    x = cv.arg(call, 0)
    if cv.shape(x) == cv.shape(out):
        return x
    dims = _out_dims(cv.shape(out))
    cv.emit(OpKind.RESHAPE, "broadcast_to", dims, [(x, _broadcast_index(cv.shape(x), dims))], (out, tuple(dims)))
    return None


@rule("relax.strided_slice")
def strided_slice(cv: Converter, call: relax.Call, out: str) -> None:
    x = cv.arg(call, 0)
    sx, so = cv.shape(x), cv.shape(out)
    axes = _axes(cv.arg(call, 1), len(sx))
    begin = cv.arg(call, 2)
    strides = cv.arg(call, 4) if len(call.args) > 4 else [1] * len(axes)
    dims = _out_dims(so)
    ix = list(dims)
    for a, b, st in zip(axes, begin, strides):
        b = int(b) % sx[a] if int(b) < 0 else min(int(b), sx[a] - 1)
        e = f"i{a}" if int(st) == 1 else f"i{a}*{int(st)}"
        ix[a] = "0" if so[a] == 1 and sx[a] == 1 else (f"{e}+{b}" if b else e)
    cv.emit(OpKind.SLICE, "strided_slice", dims, [(x, tuple(ix))], (out, tuple(dims)))


@rule("relax.split")
def split(cv: Converter, call: relax.Call, out: tuple[str, ...]) -> None:
    x = cv.arg(call, 0)
    sx = cv.shape(x)
    ax = int(_attr(call, "axis", 0)) % len(sx)
    offset = 0
    for o in out:
        so = cv.shape(o)
        dims = _out_dims(so)
        ix = list(dims)
        ix[ax] = f"i{ax}+{offset}" if offset else f"i{ax}"
        cv.emit(OpKind.SLICE, "split", dims, [(x, tuple(ix))], (o, tuple(dims)))
        offset += so[ax]


@rule("relax.concat")
def concat(cv: Converter, call: relax.Call, out: str) -> None:
    parts = [t for t in cv.arg(call, 0)]
    so = cv.shape(out)
    ax = int(_attr(call, "axis", 0)) % len(so)
    dims = _out_dims(so)
    ins = []
    for t in parts:
        ix = list(dims)
        ix[ax] = "0" if cv.shape(t)[ax] == 1 else f"@concat(i{ax})"
        ins.append((t, tuple(ix)))
    cv.emit(OpKind.CONCAT, "concat", dims, ins, (out, tuple(dims)), axis=ax)


@rule("relax.take")
def take(cv: Converter, call: relax.Call, out: str) -> None:
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    sx, si, so = cv.shape(x), cv.shape(idx), cv.shape(out)
    ax = int(_attr(call, "axis", 0) or 0) % len(sx)
    dims = _out_dims(so)
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


@rule("relax.index_tensor")
def index_tensor(cv: Converter, call: relax.Call, out: str) -> None:
    """Advanced indexing ``x[i0, i1, ...]``: a gather; the index tensors broadcast to the leading output dims."""
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    idx = list(idx) if isinstance(idx, tuple) else [idx]
    sx, so = cv.shape(x), cv.shape(out)
    dims = _out_dims(so)
    names = list(dims)
    nb = len(so) - (len(sx) - len(idx))
    lead = {n: dims[n] for n in names[:nb]}
    ix = [f"@gather({','.join(lead)})"] * len(idx) + names[nb:]
    ins = [(x, tuple(ix))] + [(t, _broadcast_index(cv.shape(t), lead)) for t in idx]
    cv.emit(OpKind.GATHER, "index_tensor", dims, ins, (out, tuple(dims)))


@rule("relax.gather_nd", "relax.gather_elements")
def gather(cv: Converter, call: relax.Call, out: str) -> None:
    """Data-dependent reads: every output element reads one input element chosen by an index tensor."""
    x, idx = cv.arg(call, 0), cv.arg(call, 1)
    dims = _out_dims(cv.shape(out))
    lead = list(dims)[:len(cv.shape(idx))]
    x_ix = tuple(f"@{call.op.name.split('.')[-1]}({','.join(dims)})" for _ in cv.shape(x))
    idx_ix = tuple("0" if s == 1 else lead[j] if j < len(lead) and s == dims[lead[j]] else f"@index({','.join(dims)})"
                   for j, s in enumerate(cv.shape(idx)))
    cv.emit(OpKind.GATHER, call.op.name.split(".")[-1], dims, [(x, x_ix), (idx, idx_ix)], (out, tuple(dims)))


@rule("relax.nn.pad")
def pad(cv: Converter, call: relax.Call, out: str) -> None:
    x = cv.arg(call, 0)
    widths = _ints(_attr(call, "pad_width")) or []
    dims = _out_dims(cv.shape(out))
    ix = []
    for j, d in enumerate(dims):
        before = widths[2 * j] if 2 * j < len(widths) else 0
        ix.append(f"{d}-{before}" if before else d)
    cv.emit(OpKind.PAD, "pad", dims, [(x, tuple(ix))], (out, tuple(dims)), padded=True)
