"""Contractions as GEMMs: classify an op's loop dims into batch, M, N and K (im2col view for convolutions)."""

from __future__ import annotations

from dataclasses import dataclass

import ir
from ir import index as ix

from .errors import MappingError


@dataclass(frozen=True)
class Gemm:
    """``b`` independent ``m x k @ k x n`` products; operand A is the op's first input, B its second."""

    b: int
    m: int
    k: int
    n: int
    classes: tuple[tuple[str, str], ...] = ()   # (op dim, class) pairs, for reports

    @property
    def macs(self) -> int:
        return self.b * self.m * self.k * self.n


def _dims(acc: ir.Access) -> set[str]:
    return {d for e in acc.index for d in ix.dims_of(e)}


def as_gemm(op: ir.Op) -> Gemm:
    """Batch dims index both inputs and the output; M only A and the output; N only B and the output; K is reduced."""
    if len(op.inputs) < 2:
        raise MappingError(f"op {op.name!r} ({op.kind.value}): a contraction needs two inputs, has {len(op.inputs)}")
    a, b, out = _dims(op.inputs[0]), _dims(op.inputs[1]), _dims(op.output)
    size = {"b": 1, "m": 1, "k": 1, "n": 1}
    classes = []
    for d, s in op.dims.items():
        if d in op.reduce:
            c = "k"
        elif d in a and d in b and d in out:
            c = "b"
        elif d in b and d in out:
            c = "n"
        elif d in out or s == 1:        # a size-1 dim a fused reshape dropped from the output changes nothing
            c = "m"
        else:
            raise MappingError(f"op {op.name!r}: dim {d!r} is neither reduced nor in the output; cannot map it "
                               "as a GEMM (allowed: batch, M, N, K dims)")
        size[c] *= s
        classes.append((d, c))
    return Gemm(size["b"], size["m"], size["k"], size["n"], tuple(classes))
