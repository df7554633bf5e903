"""Affine index expressions: how one tensor axis is addressed by an op's loop dimensions.

An expression is a string such as ``"m"``, ``"0"`` (a broadcast axis of size 1) or ``"oh*2+kh"`` (a strided
convolution window). Expressions are kept as strings in the IR so that graphs serialise trivially; this module
parses them into coefficients.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import IRValidationError

_TERM = re.compile(r"^(?:(\d+)\*)?([A-Za-z_][A-Za-z_0-9]*)(?:\*(\d+))?$")


@lru_cache(maxsize=4096)
def parse(expr: str) -> tuple[tuple[tuple[str, int], ...], int]:
    """Return ``((dim, coefficient), ...), constant`` for an affine expression with non-negative terms."""
    coefs: dict[str, int] = {}
    const = 0
    text = expr.replace(" ", "")
    if not text:
        raise IRValidationError("empty index expression")
    for term in text.split("+"):
        if term.isdigit():
            const += int(term)
            continue
        m = _TERM.match(term)
        if not m:
            raise IRValidationError(f"index expression {expr!r}: cannot read term {term!r} "
                                    "(allowed: dim, c*dim, dim*c, integer constant, joined by '+')")
        coef = int(m.group(1) or 1) * int(m.group(3) or 1)
        coefs[m.group(2)] = coefs.get(m.group(2), 0) + coef
    return tuple(coefs.items()), const


def dims_of(expr: str) -> tuple[str, ...]:
    """The loop dimensions an expression uses."""
    return tuple(d for d, _ in parse(expr)[0])


def is_plain(expr: str) -> bool:
    """True when the expression is a single dimension with coefficient 1 and no offset."""
    terms, const = parse(expr)
    return const == 0 and len(terms) == 1 and terms[0][1] == 1


def extent(expr: str, sizes: dict[str, int]) -> int:
    """Number of positions the expression spans: max value + 1 when every dim runs over ``range(size)``."""
    terms, const = parse(expr)
    return sum(c * (sizes[d] - 1) for d, c in terms) + const + 1
