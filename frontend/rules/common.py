"""Helpers the rule families share: reading call attributes and building index maps over output axes."""

from __future__ import annotations

from typing import Any


def attr(call: Any, name: str, default: Any = None) -> Any:
    """Attribute ``name`` of a Relax call, or ``default`` when the op has no such attribute."""
    attrs = call.attrs
    if attrs is None or not hasattr(attrs, name):
        return default
    return getattr(attrs, name)


def ints(v: Any) -> list[int] | None:
    """A TVM integer, array of integers or None as a python list."""
    if v is None:
        return None
    if isinstance(v, (int, float)) or hasattr(v, "value"):
        return [int(v)]
    return [int(x) for x in v]


def axes(v: Any, rank: int) -> list[int]:
    """Axis numbers with negatives counted from the end."""
    return [int(a) % rank for a in v]


def out_dims(shape: tuple[int, ...], prefix: str = "i") -> dict[str, int]:
    """Loop dims named after the output's axes: ``{"i0": shape[0], "i1": shape[1], ...}``."""
    return {f"{prefix}{j}": s for j, s in enumerate(shape)}


def broadcast_index(in_shape: tuple[int, ...], dims: dict[str, int]) -> tuple[str, ...]:
    """Numpy broadcasting: input axes align right; a size-1 axis against a larger one reads index 0."""
    names = list(dims)[len(dims) - len(in_shape):]
    return tuple(n if s == dims[n] else "0" for n, s in zip(names, in_shape))


def linear(dims: dict[str, int]) -> str:
    """Row-major linear index over ``dims`` as text."""
    terms, stride = [], 1
    for d, s in reversed(list(dims.items())):
        if s > 1:
            terms.append(d if stride == 1 else f"{d}*{stride}")
        stride *= s
    return "+".join(reversed(terms)) or "0"


def op_suffix(call: Any) -> str:
    """The short name of a call's op: ``relax.nn.gelu`` -> ``gelu``."""
    return call.op.name.split(".")[-1]
