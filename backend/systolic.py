"""Systolic-array compute cycles and array<->local-buffer traffic per dataflow (SCALE-Sim's fold model).

Derived from SCALE-Sim 3's demand matrices (checked against its reports, tests/backend/data): an R x C array
folds the GEMM; output-stationary maps M on rows, N on columns and streams K, taking R + C + K - 2 cycles per
fold; weight-stationary maps K x N and streams M, 2R + C + M - 2 per fold; input-stationary maps K x M and streams
N, 2R + C + N - 2 per fold; one cycle less in all.
"""

from __future__ import annotations

DATAFLOWS = ("os", "ws", "is")


def _cdiv(a, b):
    return -(-a // b)


def compute_cycles(df: str, m, k, n, rows, cols, b=1):
    """Cycles for ``b`` sequential m x k x n GEMMs on a rows x cols array (numpy-broadcastable)."""
    if df == "os":
        folds, per = _cdiv(m, rows) * _cdiv(n, cols), rows + cols + k - 2
    elif df == "ws":
        folds, per = _cdiv(k, rows) * _cdiv(n, cols), 2 * rows + cols + m - 2
    elif df == "is":
        folds, per = _cdiv(k, rows) * _cdiv(m, cols), 2 * rows + cols + n - 2
    else:
        raise ValueError(f"unknown dataflow {df!r} (allowed: {DATAFLOWS})")
    return b * (folds * per - 1)


def array_traffic_bits(df: str, m, k, n, rows, cols, bits_a, bits_b, bits_out, bits_acc, b=1):
    """Bits the array reads from and writes to its local buffer: operands per fold, and partial sums when the
    reduction is folded (weight- and input-stationary)."""
    if df == "os":
        a = m * k * _cdiv(n, cols) * bits_a
        w = k * n * _cdiv(m, rows) * bits_b
        psum = 0 * m
        out = m * n * bits_out
    elif df == "ws":
        a = m * k * _cdiv(n, cols) * bits_a
        w = k * n * bits_b
        extra = _cdiv(k, rows) - 1
        psum = 2 * m * n * extra * bits_acc
        out = m * n * bits_out
    elif df == "is":
        a = m * k * bits_a
        w = k * n * _cdiv(m, cols) * bits_b
        extra = _cdiv(k, rows) - 1
        psum = 2 * m * n * extra * bits_acc
        out = m * n * bits_out
    else:
        raise ValueError(f"unknown dataflow {df!r} (allowed: {DATAFLOWS})")
    return b * (a + w + psum + out)


def spatial(df: str) -> tuple[str, str, str]:
    """(dim on rows, dim on columns, streamed dim)."""
    return {"os": ("m", "n", "k"), "ws": ("k", "n", "m"), "is": ("k", "m", "n")}[df]

