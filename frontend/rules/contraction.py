"""Contractions: matmul (batched and broadcast) and convolutions (strided, padded, dilated, grouped).

Dims are ``b0.., m, n, k`` for matmuls and ``n, g, oc, oh.., ic, kh..`` for convolutions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ir import OpKind

from ..errors import InvalidAttributeError
from ..registry import register
from .common import attr, broadcast_index, ints

if TYPE_CHECKING:
    from ..relax_to_ir import Converter


def matmul(cv: Converter, call: Any, out: str) -> None:
    a, b = cv.arg(call, 0), cv.arg(call, 1)
    sa, sb, so = cv.shape(a), cv.shape(b), cv.shape(out)
    a2, b2 = len(sa) >= 2, len(sb) >= 2
    nbatch = len(so) - (1 if a2 else 0) - (1 if b2 else 0)
    bdims = {f"b{j}": so[j] for j in range(nbatch)}
    dims = {**bdims, "m": sa[-2] if a2 else 1, "n": sb[-1] if b2 else 1, "k": sa[-1]}
    a_batch = broadcast_index(sa[:-2], bdims) if a2 else ()
    b_batch = broadcast_index(sb[:-2], bdims) if b2 else ()
    a_ix = (*a_batch, "m", "k") if a2 else ("k",)
    b_ix = (*b_batch, "k", "n") if b2 else ("k",)
    o_ix = (*bdims, *(("m",) if a2 else ()), *(("n",) if b2 else ()))
    kind = OpKind.BATCH_MATMUL if any(ix != "0" for ix in b_batch) else OpKind.MATMUL
    cv.emit(kind, "matmul", dims, [(a, a_ix), (b, b_ix)], (out, o_ix), reduce=("k",))


def _checked(cv: Converter, call: Any, name: str, values: list[int], least: int) -> list[int]:
    if any(v < least for v in values):
        raise InvalidAttributeError(f"node {cv.node!r} ({call.op.name}): {name} {values} is not allowed; every "
                                    f"entry must be >= {least}")
    return values


def conv(nsp: int):
    """The rule of an ``nsp``-dimensional convolution in channels-first layout (others go through TensorIR)."""
    def rule(cv: Converter, call: Any, out: str) -> None:
        if str(attr(call, "data_layout", "NCHW")) not in ("NCW", "NCHW", "NCDHW"):
            from ..tir_generic import convert_generic_call
            return convert_generic_call(cv, call, out)
        x, w = cv.arg(call, 0), cv.arg(call, 1)
        sw, so = cv.shape(w), cv.shape(out)
        strides = _checked(cv, call, "strides", ints(attr(call, "strides")) or [1] * nsp, 1)
        dil = _checked(cv, call, "dilation", ints(attr(call, "dilation")) or [1] * nsp, 1)
        pad = _checked(cv, call, "padding", ints(attr(call, "padding")) or [0] * (2 * nsp), 0)
        groups = _checked(cv, call, "groups", [int(attr(call, "groups", 1))], 1)[0]
        sp = "hwd"[:nsp]
        ocg, icg = sw[0] // groups, sw[1]
        dims: dict[str, int] = {"n": so[0], **({"g": groups} if groups > 1 else {}), "oc": ocg}
        dims.update({f"o{sp[j]}": so[2 + j] for j in range(nsp)})
        dims["ic"] = icg
        dims.update({f"k{sp[j]}": sw[2 + j] for j in range(nsp)})
        gpre = f"g*{icg}+" if groups > 1 else ""
        opre = f"g*{ocg}+" if groups > 1 else ""
        x_ix = ["n", f"{gpre}ic"]
        for j in range(nsp):
            o = f"o{sp[j]}" + (f"*{strides[j]}" if strides[j] != 1 else "")
            e = f"{o}+k{sp[j]}" + (f"*{dil[j]}" if dil[j] != 1 else "")
            x_ix.append(e + (f"-{pad[j]}" if pad[j] else ""))
        w_ix = [f"{opre}oc", "ic", *(f"k{sp[j]}" for j in range(nsp))]
        o_ix = ["n", f"{opre}oc", *(f"o{sp[j]}" for j in range(nsp))]
        reduce = ("ic", *(f"k{sp[j]}" for j in range(nsp)))
        extra = {"padded": True} if any(pad) else {}
        cv.emit(OpKind.CONV, f"conv{nsp}d", dims, [(x, tuple(x_ix)), (w, tuple(w_ix))], (out, tuple(o_ix)),
                reduce=reduce, strides=strides, padding=pad, dilation=dil, groups=groups, **extra)
    return rule


register("relax.matmul", matmul)
register("relax.nn.conv1d", conv(1))
register("relax.nn.conv2d", conv(2))
