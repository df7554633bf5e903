"""The rule registry: Relax op name -> the rule that turns its calls into IR ops. A leaf: it imports no rule.

Rules live in ``frontend.rules``, one module per op family, and register themselves when that package is imported
(as TVM's ``relax.transform.legalize_ops`` does); ``frontend.relax_to_ir`` imports it once. A rule is called as
``rule(converter, call, out)``: it emits the ops computing ``out`` (a tensor name, or a tuple of names for a
tuple-typed call) and returns None, or returns an input's tensor name when the op is a no-op (the output then
aliases that input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Rule = Callable[[Any, Any, Any], Any]
RULES: dict[str, Rule] = {}


def register(name: str, fn: Rule) -> Rule:
    """Make ``fn`` the conversion of Relax op ``name`` (``"relax.matmul"``, or ``"extern:SYMBOL"`` for a
    ``call_dps_packed`` of an external function); one registration per line in the family modules."""
    if RULES.get(name, fn) is not fn:
        raise ValueError(f"two rules registered for {name!r}: {RULES[name].__qualname__} and {fn.__qualname__}")
    RULES[name] = fn
    return fn


def lookup(name: str) -> Rule | None:
    """The rule registered for ``name``, or None (the op then goes through TensorIR, ``frontend.tir_generic``)."""
    return RULES.get(name)
