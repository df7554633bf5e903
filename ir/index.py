"""Affine index expressions: how one tensor axis is addressed by an op's loop dimensions.

An expression is a string such as ``"m"``, ``"0"`` (a broadcast axis of size 1), ``"oh*2+kh"`` (a strided
convolution window) or ``"x-1"`` (a window reaching into padding). An expression that is not affine (a reshape's
``floordiv``/``mod`` arithmetic, read from TensorIR) is kept verbatim behind a leading ``@``; it names the dims it
uses but has no extent. Expressions are kept as strings so that graphs serialise trivially.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import IRValidationError

_TERM = re.compile(r"^(?:(\d+)\*)?([A-Za-z_][A-Za-z_0-9]*)(?:\*(\d+))?$")


_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z_0-9]*\b(?!\s*\()")


def is_opaque(expr: str) -> bool:
    return expr.startswith("@")


def _int(text: str, expr: str) -> int:
    if len(text) > 18:          # |value| < 10**18: an index coefficient or offset, never a data value
        raise IRValidationError(f"index expression {expr[:60]!r}: number {text[:20]}... is too large")
    return int(text)


@lru_cache(maxsize=4096)
def parse(expr: str) -> tuple[tuple[tuple[str, int], ...], int]:
    """Return ``((dim, coefficient), ...), constant`` for an affine expression (coefficients >= 1)."""
    if is_opaque(expr):
        raise IRValidationError(f"index expression {expr!r} is not affine")
    coefs: dict[str, int] = {}
    const = 0
    text = expr.replace(" ", "").replace("-", "+-")
    if not text.strip("+"):
        raise IRValidationError("empty index expression")
    for term in text.split("+"):
        if not term:
            continue
        if term.lstrip("-").isdecimal():
            const += _int(term, expr)
            continue
        m = _TERM.match(term)
        if not m:
            raise IRValidationError(f"index expression {expr!r}: cannot read term {term!r} (allowed: dim, c*dim, "
                                    "dim*c, an integer constant, joined by '+' or '-' before constants)")
        coef = _int(m.group(1) or "1", expr) * _int(m.group(3) or "1", expr)
        coefs[m.group(2)] = coefs.get(m.group(2), 0) + coef
    return tuple(coefs.items()), const


@lru_cache(maxsize=4096)
def dims_of(expr: str) -> tuple[str, ...]:
    """The loop dimensions an expression uses."""
    if is_opaque(expr):
        return tuple(dict.fromkeys(_IDENT.findall(expr[1:])))
    return tuple(d for d, _ in parse(expr)[0])


def is_plain(expr: str) -> bool:
    """True when the expression is a single dimension with coefficient 1 and no offset."""
    if is_opaque(expr):
        return False
    terms, const = parse(expr)
    return const == 0 and len(terms) == 1 and terms[0][1] == 1


def span(expr: str, sizes: dict[str, int]) -> tuple[int, int]:
    """(lowest, highest) position the affine expression reaches when every dim runs over ``range(size)``."""
    terms, const = parse(expr)
    return const, sum(c * (sizes[d] - 1) for d, c in terms) + const


def extent(expr: str, sizes: dict[str, int]) -> int:
    """Number of positions the affine expression spans."""
    lo, hi = span(expr, sizes)
    return hi - lo + 1
