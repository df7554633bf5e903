"""Mixture-of-experts layers: routing (top-k, sorting tokens by expert, counting them) and grouped expert matmuls.

Routing is small vector work: ``topk`` picks ``k`` of ``E`` router scores per token (``k`` passes over ``E``
scores), sorting ranks ``n`` keys by comparing each with every other, ``histc`` tests each key against every bin.
A grouped matmul ``out[rows of e] = x[rows of e] @ w[e]`` becomes contractions whose tokens per expert come from
the declared load model (``frontend.moe.LoadModel``, uniform by default): one batched matmul over each run of
experts with equal counts, rows at affine offsets, so the total MACs are always ``rows * K * N``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ir import OpKind

from ..errors import UnsupportedOpError
from ..registry import register
from .common import attr, op_suffix, out_dims

if TYPE_CHECKING:
    from ..relax_to_ir import Converter


def topk(cv: Converter, call: Any, out: Any) -> Any:
    x = cv.arg(call, 0)
    outs = list(out) if isinstance(out, tuple) else [out]
    sx, so = cv.shape(x), cv.shape(outs[0])
    ax = int(attr(call, "axis", -1)) % len(sx)
    dims = {**out_dims(so), "r": sx[ax]}
    x_ix = tuple("r" if j == ax else f"i{j}" for j in range(len(sx)))
    cv.emit(OpKind.REDUCTION, "topk", dims, [(x, x_ix)], (outs[0], tuple(out_dims(so))), reduce=("r",),
            k=so[ax])
    tokens = 1
    for j, s in enumerate(sx):
        tokens *= s if j != ax else 1
    cv.routing.update(top_k=so[ax], experts=sx[ax], tokens=tokens)
    # values and indices come out of the same pass: the indices are stored as the values' tensor
    return tuple(outs[0] for _ in outs) if isinstance(out, tuple) else None


def sort(cv: Converter, call: Any, out: Any) -> Any:
    x = cv.arg(call, 0)
    outs = list(out) if isinstance(out, tuple) else [out]
    sx = cv.shape(x)
    ax = int(attr(call, "axis", -1)) % len(sx)
    dims = {**out_dims(sx), "r": sx[ax]}
    cv.emit(OpKind.REDUCTION, op_suffix(call), dims, [(x, tuple(f"i{j}" for j in range(len(sx)))),
                                                      (x, tuple("r" if j == ax else f"i{j}" for j in range(len(sx))))],
            (outs[0], tuple(out_dims(sx))), reduce=("r",))
    return tuple(outs[0] for _ in outs) if isinstance(out, tuple) else None


def histc(cv: Converter, call: Any, out: str) -> None:
    (x,) = cv.arg(call, 1)
    sx, so = cv.shape(x), cv.shape(out)
    dims = {**out_dims(sx), "b": so[0]}
    cv.emit(OpKind.REDUCTION, "histc", dims, [(x, tuple(out_dims(sx)))], (out, ("b",)),
            reduce=tuple(out_dims(sx)))


def _runs(counts: list[int]) -> list[tuple[int, int, int, int]]:
    """(first expert, experts, tokens each, first row) of each run of consecutive experts with equal counts > 0."""
    runs, row, e = [], 0, 0
    while e < len(counts):
        n = 1
        while e + n < len(counts) and counts[e + n] == counts[e]:
            n += 1
        if counts[e]:
            runs.append((e, n, counts[e], row))
        row += n * counts[e]
        e += n
    return runs


def _plus(expr: str, offset: int) -> str:
    return f"{expr}+{offset}" if offset else expr


def grouped_matmul(cv: Converter, call: Any, out: str) -> None:
    args = cv.arg(call, 1)
    x, w = args[0], args[1]
    sx, sw = cv.shape(x), cv.shape(w)
    if len(sx) != 2 or len(sw) != 3 or len(args) < 3:
        raise UnsupportedOpError(f"node {cv.node!r}: grouped matmul of shapes {sx} and {sw}: CATX lowers the "
                                 "mixture-of-experts form (rows sorted by expert) x[R, K] @ w[E, K, N] with offsets")
    rows, experts = sx[0], sw[0]
    cap = cv.routing.get("tokens") if cv.routing.get("experts") == experts else None
    counts = cv.moe_load.tokens(rows, experts, cap=min(cap, rows) if cap else None)
    for first, n, m, row in _runs(counts):
        if n > 1:
            dims = {"e": n, "m": m, "n": sw[2], "k": sx[1]}
            rows_ix, expert_ix = _plus(f"e*{m}+m", row), _plus("e", first)
        else:
            dims = {"m": m, "n": sw[2], "k": sx[1]}
            rows_ix, expert_ix = _plus("m", row), str(first)
        cv.emit(OpKind.BATCH_MATMUL if n > 1 else OpKind.MATMUL, "grouped_matmul", dims,
                [(x, (rows_ix, "k")), (w, (expert_ix, "k", "n"))], (out, (rows_ix, "n")), reduce=("k",),
                experts=list(range(first, first + n)), tokens_per_expert=m, load=str(cv.moe_load), partial=True)


register("relax.topk", topk)
register("relax.sort", sort)
register("relax.argsort", sort)
register("extern:catx.histc", histc)
register("extern:catx.grouped_mm", grouped_matmul)
