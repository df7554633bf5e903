"""Facts about constant tensors (masks, scales), recorded by the frontend from their values, read by graph passes.

The IR carries no tensor values. A frontend that knows a constant's value summarises it with ``describe`` and
stores the summary in ``graph.meta["const_facts"][tensor_name]``; passes such as ``drop_mask_artefacts`` and
``fuse_attention`` use it to prove that an op is a no-op or that a mask is causal. A fact that is absent is
unknown, never assumed. Every fact is a JSON value (non-finite floats are the strings ``"inf"``, ``"-inf"``,
``"nan"``), so graphs still round-trip exactly.

Facts of one tensor (keys present only where they apply):

- ``dtype``: ``"bool"``, ``"int"`` or ``"float"``.
- ``value``: the value of a one-element tensor.
- ``all_zero`` / ``all_nonzero``: every element is zero (False) / nonzero (True).
- ``uniform``: every element equals this value.
- ``finite``: no element is inf or NaN.
- ``any_nonzero_along`` / ``any_zero_along`` / ``any_finite_along``: the axes ``a`` such that every 1-D fibre
  along ``a`` holds a nonzero / a zero / a finite element (e.g. every row of a mask keeps some position).
- ``triangle``: the last two axes (rows, columns), identical across leading axes, hold a causal pattern:
  ``"lower"`` (nonzero exactly where column <= row), ``"strict_upper"`` (nonzero exactly where column > row) or
  ``"causal_bias"`` (0 where column <= row, -inf where column > row).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .graph import Graph

KEY = "const_facts"


def _scalar(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def number(v: Any) -> float | None:
    """A fact's numeric value as a float (``"-inf"`` -> -inf), or None when it is not a number."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if v in ("inf", "-inf", "nan"):
        return float(v)
    return None


def _triangle(v: np.ndarray, nonzero: np.ndarray, kind: str) -> str | None:
    r, c = v.shape[-2:]
    flat = v.reshape(-1, r, c)
    if r < 2 or c < 2 or not all(np.array_equal(flat[0], f, equal_nan=kind == "float") for f in flat[1:]):
        return None
    upper = np.arange(c)[None, :] > np.arange(r)[:, None]
    nz = nonzero.reshape(-1, r, c)[0]
    if kind != "float":
        if np.array_equal(nz, ~upper):
            return "lower"
        if np.array_equal(nz, upper):
            return "strict_upper"
        return None
    m = flat[0]
    if np.all(m[~upper] == 0) and np.all(np.isneginf(m[upper])):
        return "causal_bias"
    return None


def describe(value: Any) -> dict[str, Any]:
    """The facts of one constant tensor's value (see the module docstring)."""
    v = np.asarray(value)
    kind = "bool" if v.dtype == np.bool_ else "int" if np.issubdtype(v.dtype, np.integer) else "float"
    f: dict[str, Any] = {"dtype": kind}
    if v.size == 0:
        return f
    nonzero = v != 0
    if v.size == 1:
        f["value"] = _scalar(v.reshape(()).item())
    f["all_zero"] = not bool(nonzero.any())
    f["all_nonzero"] = bool(nonzero.all())
    first = v.reshape(-1)[0]
    if np.all(v == first) or (kind == "float" and np.all(np.isnan(v))):
        f["uniform"] = _scalar(first.item())
    finite = np.isfinite(v) if kind == "float" else np.ones(v.shape, bool)
    f["finite"] = bool(finite.all())
    if v.ndim >= 1 and v.size > 1:
        f["any_nonzero_along"] = [a for a in range(v.ndim) if bool(nonzero.any(axis=a).all())]
        f["any_zero_along"] = [a for a in range(v.ndim) if bool((~nonzero).any(axis=a).all())]
        f["any_finite_along"] = [a for a in range(v.ndim) if bool(finite.any(axis=a).all())]
    if v.ndim >= 2:
        t = _triangle(v, nonzero, kind)
        if t:
            f["triangle"] = t
    return f


def of(graph: Graph, tensor: str) -> dict[str, Any]:
    """The recorded facts of ``tensor`` ({} when nothing is known)."""
    return graph.meta.get(KEY, {}).get(tensor, {})


def prune(graph: Graph) -> None:
    """Drop the facts of tensors the graph no longer declares."""
    facts = graph.meta.get(KEY)
    if facts:
        graph.meta[KEY] = {t: f for t, f in facts.items() if t in graph.tensors}
