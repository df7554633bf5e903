"""Values of folded constants: numpy evaluation of the Relax ops that build masks and scales from constants.

The converter folds ops whose inputs are all weights or constants; where every input's value is known and the op
is in ``EVAL``, its value is computed here so that ``ir.facts`` can describe it (a causal mask, an all-zero bias,
a scale). Movement ops return numpy views (no copy); arithmetic is skipped above ``MAX_ELEMENTS``. An op outside
the table, or one that fails, leaves the value unknown -- never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ir import Graph, OpKind
from ir.facts import KEY, describe

MAX_ELEMENTS = 1 << 24

_BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "floor_divide": np.floor_divide, "power": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "equal": np.equal, "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "less": np.less, "less_equal": np.less_equal, "logical_and": np.logical_and, "logical_or": np.logical_or,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
}
_UNARY = {"logical_not": np.logical_not, "bitwise_not": np.invert, "negative": np.negative, "abs": np.abs,
          "sqrt": np.sqrt, "exp": np.exp}


def _attr(call: Any, name: str) -> Any:
    return getattr(call.attrs, name, None) if call.attrs is not None else None


def _ints(v: Any) -> list[int]:
    if v is None:
        return []
    if isinstance(v, (int, np.integer)) or hasattr(v, "value"):
        return [int(v)]
    return [int(x) for x in v]


def _strided_slice(call: Any, x: np.ndarray, axes: Any, begin: Any, end: Any, strides: Any = None) -> np.ndarray:
    sl = [slice(None)] * x.ndim
    strides = _ints(strides) or [1] * len(_ints(axes))
    for a, b, e, s in zip(_ints(axes), _ints(begin), _ints(end), strides):
        sl[a] = slice(b, e, s)
    return x[tuple(sl)]


def _expand_dims(call: Any, x: np.ndarray, *_: Any) -> np.ndarray:
    axes = sorted(a % (x.ndim + len(_ints(_attr(call, "axis")))) for a in _ints(_attr(call, "axis")))
    for a in axes:
        x = np.expand_dims(x, a)
    return x


def _squeeze(call: Any, x: np.ndarray, *_: Any) -> np.ndarray:
    axes = _ints(_attr(call, "axis"))
    return np.squeeze(x, axis=tuple(axes) if axes else None)


def _permute(call: Any, x: np.ndarray, *_: Any) -> np.ndarray:
    axes = _ints(_attr(call, "axes"))
    return np.transpose(x, axes or None)


def _full_like(call: Any, x: np.ndarray, fill: Any, *_: Any) -> np.ndarray:
    return np.broadcast_to(np.asarray(fill), x.shape)


def _fill(value: float) -> Callable[..., np.ndarray]:
    return lambda call, x, *_: np.broadcast_to(np.asarray(value), x.shape)


def _full(call: Any, shape: Any, fill: Any, *_: Any) -> np.ndarray:
    return np.broadcast_to(np.asarray(fill), tuple(_ints(shape)))


def _triangle(upper: bool) -> Callable[..., np.ndarray]:
    def fn(call: Any, x: np.ndarray, k: Any = 0) -> np.ndarray:
        k = int(k) if k is not None else 0
        return np.triu(x, k) if upper else np.tril(x, k)
    return fn


EVAL: dict[str, Callable[..., np.ndarray]] = {
    "relax.strided_slice": _strided_slice,
    "relax.expand_dims": _expand_dims,
    "relax.squeeze": _squeeze,
    "relax.reshape": lambda call, x, shape: np.reshape(x, tuple(_ints(shape))),
    "relax.permute_dims": _permute,
    "relax.broadcast_to": lambda call, x, shape: np.broadcast_to(x, tuple(_ints(shape))),
    "relax.astype": lambda call, x: x,  # the result is cast to the declared dtype below
    "relax.full_like": _full_like,
    "relax.zeros_like": _fill(0),
    "relax.ones_like": _fill(1),
    "relax.full": _full,
    "relax.where": lambda call, c, a, b: np.where(c, a, b),
    "relax.take": lambda call, x, i: np.take(x, i, axis=int(_attr(call, "axis") or 0)),
    "relax.tril": _triangle(False),
    "relax.triu": _triangle(True),
    **{f"relax.{n}": (lambda f: lambda call, a, b: f(a, b))(f) for n, f in _BINARY.items()},
    **{f"relax.{n}": (lambda f: lambda call, a: f(a))(f) for n, f in _UNARY.items()},
}
_SHAPE_ONLY = {"relax.full_like", "relax.zeros_like", "relax.ones_like"}  # the first argument gives only a shape
_VIEWS = {"relax.strided_slice", "relax.expand_dims", "relax.squeeze", "relax.reshape", "relax.permute_dims",
          "relax.broadcast_to", "relax.full_like", "relax.zeros_like", "relax.ones_like", "relax.full"}


def evaluate(op_name: str, call: Any, args: list[Any], shape: tuple[int, ...], dtype: str) -> np.ndarray | None:
    """The value of ``call`` given its argument values (numpy arrays or python values), or None."""
    fn = EVAL.get(op_name)
    if op_name in _SHAPE_ONLY and args and args[0] is None:
        args = [np.broadcast_to(np.zeros(()), shape), *args[1:]]
    if fn is None or any(a is None for a in args):
        return None
    if op_name not in _VIEWS and int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
        return None
    try:
        with np.errstate(all="ignore"):
            v = np.asarray(fn(call, *args))
        v = v.astype(np.dtype(dtype), copy=False)
    except Exception:  # an attribute form this table does not read: the value stays unknown
        return None
    return v if v.shape == tuple(shape) else None


def record_facts(graph: Graph, values: dict[str, np.ndarray]) -> None:
    """Describe (``ir.facts``) every constant of known value that an element-wise op reads: masks, fills, scales."""
    read = {a.tensor for o in graph.ops if o.kind == OpKind.ELEMENTWISE for a in o.inputs}
    facts = {t: describe(values[t]) for t in graph.tensors if t in read and t in values}
    if facts:
        graph.meta[KEY] = facts
