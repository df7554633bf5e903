"""Element-wise ops (one vector operation per output element, numpy broadcasting), scans, no-ops and fills."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ir import OpKind, TensorRole

from ..registry import register
from .common import attr, broadcast_index, op_suffix, out_dims

if TYPE_CHECKING:
    from ..relax_to_ir import Converter


def elementwise(cv: Converter, call: Any, out: str) -> None:
    dims = out_dims(cv.shape(out))
    ins = [t for t in (cv.arg(call, i) for i in range(len(call.args))) if isinstance(t, str)]
    cv.emit(OpKind.ELEMENTWISE, op_suffix(call), dims, [(t, broadcast_index(cv.shape(t), dims)) for t in ins],
            (out, tuple(dims)))


def scan(cv: Converter, call: Any, out: str) -> None:
    """A running sum/product along one axis: one vector operation per element, like an element-wise op."""
    x = cv.arg(call, 0)
    dims = out_dims(cv.shape(out))
    cv.emit(OpKind.ELEMENTWISE, op_suffix(call), dims, [(x, tuple(dims))], (out, tuple(dims)),
            axis=int(attr(call, "axis", -1) or 0))


def no_op(cv: Converter, call: Any, out: str) -> str:
    """Casts, dropout at inference and the like: the output is the input."""
    x = cv.arg(call, 0)
    return x[0] if isinstance(x, tuple) else x


def arange(cv: Converter, call: Any, out: str) -> None:
    """``start, start + step, ...``: one vector operation per element, no tensor input."""
    dims = out_dims(cv.shape(out))
    cv.emit(OpKind.ELEMENTWISE, "arange", dims, [], (out, tuple(dims)))


def fill_like(cv: Converter, call: Any, out: str) -> None:
    """A constant tensor shaped like an activation: its value does not depend on the input."""
    cv.graph.tensors[out].role = TensorRole.CONST


register("relax.add", elementwise)
register("relax.subtract", elementwise)
register("relax.multiply", elementwise)
register("relax.divide", elementwise)
register("relax.floor_divide", elementwise)
register("relax.power", elementwise)
register("relax.maximum", elementwise)
register("relax.minimum", elementwise)
register("relax.equal", elementwise)
register("relax.not_equal", elementwise)
register("relax.greater", elementwise)
register("relax.greater_equal", elementwise)
register("relax.less", elementwise)
register("relax.less_equal", elementwise)
register("relax.logical_and", elementwise)
register("relax.logical_or", elementwise)
register("relax.logical_not", elementwise)
register("relax.where", elementwise)
register("relax.exp", elementwise)
register("relax.log", elementwise)
register("relax.log1p", elementwise)
register("relax.sqrt", elementwise)
register("relax.rsqrt", elementwise)
register("relax.tanh", elementwise)
register("relax.sigmoid", elementwise)
register("relax.erf", elementwise)
register("relax.negative", elementwise)
register("relax.abs", elementwise)
register("relax.sign", elementwise)
register("relax.sin", elementwise)
register("relax.cos", elementwise)
register("relax.clip", elementwise)
register("relax.floor", elementwise)
register("relax.ceil", elementwise)
register("relax.round", elementwise)
register("relax.trunc", elementwise)
register("relax.square", elementwise)
register("relax.mod", elementwise)
register("relax.floor_mod", elementwise)
register("relax.bitwise_and", elementwise)
register("relax.bitwise_or", elementwise)
register("relax.isnan", elementwise)
register("relax.isinf", elementwise)
register("relax.nn.gelu", elementwise)
register("relax.nn.gelu_tanh", elementwise)
register("relax.nn.silu", elementwise)
register("relax.nn.relu", elementwise)
register("relax.nn.leakyrelu", elementwise)
register("relax.nn.softplus", elementwise)
register("relax.nn.prelu", elementwise)
register("relax.cumsum", scan)
register("relax.cumprod", scan)
register("relax.astype", no_op)
register("relax.nn.dropout", no_op)
register("relax.wrap_param", no_op)
register("relax.stop_gradient", no_op)
register("relax.arange", arange)
register("relax.tril", elementwise)
register("relax.triu", elementwise)
register("relax.full_like", fill_like)
register("relax.zeros_like", fill_like)
register("relax.ones_like", fill_like)
