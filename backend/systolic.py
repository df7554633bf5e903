"""Systolic-array compute cycles and array traffic per operand (SCALE-Sim's fold model, extended by a per-PE level).

Derived from SCALE-Sim 3's demand matrices (checked against its reports, tests/backend/data): an R x C array folds
the GEMM; output-stationary maps M on rows, N on columns and streams K, taking R + C + K - 2 cycles per fold;
weight-stationary maps K x N and streams M, 2R + C + M - 2 per fold; input-stationary maps K x M and streams N,
2R + C + N - 2 per fold; one cycle less in all.

A per-PE level (register file) that holds the dataflow's stationary operand lets each PE keep ``er x ec`` of
them: the array acts as a virtual (R*er) x (C*ec) array whose PEs take ``E = er*ec`` cycles per streamed element.
Each fold then streams ``E*S`` cycles, loads ``R*E`` stationary words (hidden behind the stream when two copies
fit, ``double``), and the non-stationary operands are re-read ``E`` times less often. ``er = ec = 1`` without
double buffering is SCALE-Sim's model exactly.
"""

from __future__ import annotations

DATAFLOWS = ("os", "ws", "is")
STATIONARY = {"os": 2, "ws": 1, "is": 0}     # operand index (A, B, C) each dataflow keeps in its PEs


def _cdiv(a, b):
    return -(-a // b)


def spatial(df: str) -> tuple[str, str, str]:
    """(dim on rows, dim on columns, streamed dim)."""
    try:
        return {"os": ("m", "n", "k"), "ws": ("k", "n", "m"), "is": ("k", "m", "n")}[df]
    except KeyError:
        raise ValueError(f"unknown dataflow {df!r} (allowed: {DATAFLOWS})") from None


def extents(df: str, m, k, n):
    """(extent on rows, extent on columns, streamed extent) of an m x k x n GEMM."""
    d = {"m": m, "k": k, "n": n}
    r, c, s = spatial(df)
    return d[r], d[c], d[s]


def compute_cycles(df: str, m, k, n, rows, cols, b=1, er=1, ec=1, double=False, pipeline=True):
    """Cycles for ``b`` sequential m x k x n GEMMs on a rows x cols array (numpy-broadcastable). Without
    ``pipeline`` the array has no fill, drain or loading time (an ideal spatial array: each fold takes its MACs
    per PE, the convention of Timeloop-style models such as CATransformers')."""
    pr, pc, s = extents(df, m, k, n)
    e = er * ec
    folds = _cdiv(pr, rows * er) * _cdiv(pc, cols * ec)
    if not pipeline:
        return b * folds * e * s
    skew = rows + cols - 2
    if df == "os":
        return b * (folds * (e * s + skew) - 1)
    load = rows * e
    if double:
        per, first = _max(e * s, load) + skew, load
    else:
        per, first = e * s + load + skew, 0
    return b * (folds * per - 1 + first)


def _max(a, b):
    try:
        return a if a >= b else b
    except ValueError:                       # arrays
        import numpy as np
        return np.maximum(a, b)


def operand_traffic(df: str, m, k, n, rows, cols, bits, b=1, er=1, ec=1):
    """Bits the array moves per operand as ((A down), (B down), (C down, C up)): operands are re-read once per
    fold across the other spatial dim, and partial sums go out and come back when the reduction is folded
    (weight- and input-stationary). ``bits`` = (A, B, output, accumulator)."""
    ba, bb, bo, bacc = bits
    rr, cc = rows * er, cols * ec
    if df == "os":
        a = m * k * _cdiv(n, cc) * ba
        w = k * n * _cdiv(m, rr) * bb
        extra = 0 * m
    elif df == "ws":
        a = m * k * _cdiv(n, cc) * ba
        w = k * n * bb
        extra = _cdiv(k, rr) - 1
    elif df == "is":
        a = m * k * ba
        w = k * n * _cdiv(m, cc) * bb
        extra = _cdiv(k, rr) - 1
    else:
        raise ValueError(f"unknown dataflow {df!r} (allowed: {DATAFLOWS})")
    psum = m * n * extra * bacc
    return b * a, b * w, b * psum, b * (psum + m * n * bo)


def array_traffic_bits(df: str, m, k, n, rows, cols, bits_a, bits_b, bits_out, bits_acc, b=1):
    """Total bits between the array and its buffers (all operands, both directions), without a per-PE level."""
    a, w, c_down, c_up = operand_traffic(df, m, k, n, rows, cols, (bits_a, bits_b, bits_out, bits_acc), b)
    return a + w + c_down + c_up
