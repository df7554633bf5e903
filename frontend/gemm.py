"""``gemm:M,K,N``: a single matmul graph built directly in IR, for hardware studies."""

from __future__ import annotations

from ir import Access, Graph, Op, OpKind, TensorRole, validate

from .errors import ModelSpecError


def gemm_graph(m: int, k: int, n: int, bits: int = 8, name: str | None = None) -> Graph:
    """``Y[m, n] = sum_k X[m, k] * W[k, n]`` with X an input and W a weight."""
    for label, v in (("M", m), ("K", k), ("N", n)):
        if not isinstance(v, int) or v < 1:
            raise ModelSpecError(f"gemm: {label} must be a positive integer, got {v!r}")
    g = Graph(name or f"gemm_{m}x{k}x{n}")
    g.add_tensor("x", (m, k), bits, TensorRole.INPUT)
    g.add_tensor("w", (k, n), bits, TensorRole.PARAM)
    g.add_tensor("y", (m, n), bits)
    g.inputs, g.outputs = ["x"], ["y"]
    g.ops.append(Op("matmul", OpKind.MATMUL, {"m": m, "n": n, "k": k},
                    [Access("x", ("m", "k")), Access("w", ("k", "n"))], Access("y", ("m", "n")),
                    reduce=("k",), fn="matmul", bits=bits, provenance=("gemm",)))
    g.meta.update(source="gemm", bits=bits)
    return validate(g)


def parse_gemm(arg: str) -> tuple[int, int, int]:
    parts = arg.split(",")
    try:
        m, k, n = (int(p) for p in parts)
    except ValueError:
        raise ModelSpecError(f"gemm spec 'gemm:{arg}': expected three positive integers 'gemm:M,K,N'") from None
    return m, k, n
