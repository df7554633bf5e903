"""Graph validation: every index map agrees with the shapes it addresses, and the graph is well formed."""

from __future__ import annotations

from . import index as ix
from .errors import IRValidationError
from .graph import Graph, OpKind, TensorRole


def validate(graph: Graph) -> Graph:
    """Raise ``IRValidationError`` naming the op, tensor and axis of the first problem; return the graph."""
    for name, t in graph.tensors.items():
        if any(not isinstance(s, int) or s < 1 for s in t.shape):
            raise IRValidationError(f"tensor {name!r}: shape {list(t.shape)} has a size < 1; sizes must be "
                                    "integers >= 1")
        if t.bits < 1:
            raise IRValidationError(f"tensor {name!r}: bits must be >= 1, got {t.bits}")
    defined = {n for n, t in graph.tensors.items() if t.role != TensorRole.ACTIVATION}
    for name in graph.inputs:
        if name not in graph.tensors:
            raise IRValidationError(f"graph input {name!r} is not a declared tensor")
    for t in graph.tensors.values():
        bad = [r for r in t.origin if r not in graph.tensors or graph.tensors[r].role != TensorRole.PARAM]
        if bad:
            raise IRValidationError(f"tensor {t.name!r}: origin {bad} names no declared weight (param) tensor")
    seen_ops: set[str] = set()
    for op in graph.ops:
        where = f"op {op.name!r} ({op.kind.value})"
        if op.name in seen_ops:
            raise IRValidationError(f"{where}: duplicate op name")
        seen_ops.add(op.name)
        for d, s in op.dims.items():
            if not isinstance(s, int) or s < 1:
                raise IRValidationError(f"{where}: dim {d!r} has size {s!r}; sizes must be integers >= 1")
        for r in op.reduce:
            if r not in op.dims:
                raise IRValidationError(f"{where}: reduction dim {r!r} is not one of its dims {list(op.dims)}")
        if op.bits < 1:
            raise IRValidationError(f"{where}: bits must be >= 1, got {op.bits}")
        if op.kind == OpKind.ATTENTION:
            _check_attention(op, where)
        elif op.kind.category == "contraction" and len(op.inputs) < 2:
            raise IRValidationError(f"{where}: a contraction multiplies two operands, has {len(op.inputs)} input(s)")
        used: set[str] = set()
        for role, acc in [*(("input", a) for a in op.inputs), ("output", op.output)]:
            t = graph.tensors.get(acc.tensor)
            if t is None:
                raise IRValidationError(f"{where}: {role} tensor {acc.tensor!r} is not declared")
            if role == "input" and acc.tensor not in defined:
                raise IRValidationError(f"{where}: reads {acc.tensor!r} before any op produces it")
            if len(acc.index) != len(t.shape):
                raise IRValidationError(f"{where}: {role} {acc.tensor!r} has rank {len(t.shape)} "
                                        f"but its index map {list(acc.index)} has {len(acc.index)} entries")
            for axis, (expr, size) in enumerate(zip(acc.index, t.shape)):
                for d in ix.dims_of(expr):
                    if d not in op.dims:
                        raise IRValidationError(f"{where}: {role} {acc.tensor!r} axis {axis} uses dim {d!r}, "
                                                f"which is not one of {list(op.dims)}")
                    used.add(d)
                if ix.is_opaque(expr):
                    continue
                if ix.is_plain(expr):
                    n = op.dims[expr.strip()]
                    # a slice reads part of an axis; an op marked ``partial`` (one expert's rows) reads or writes part
                    partial = n < size and ((role == "input" and op.kind.category == "movement")
                                            or bool(op.attrs.get("partial")))
                    if n != size and not partial:
                        raise IRValidationError(f"{where}: {role} {acc.tensor!r} axis {axis} has size {size} but "
                                                f"dim {expr!r} has size {op.dims[expr.strip()]}")
                    continue
                lo, hi = ix.span(expr, op.dims)
                if hi < 0 or lo >= size or ((lo < 0 or hi >= size) and not op.attrs.get("padded")):
                    raise IRValidationError(f"{where}: {role} {acc.tensor!r} axis {axis} has size {size} but "
                                            f"index {expr!r} reaches positions {lo}..{hi} (only ops with "
                                            "attrs['padded'] may read outside a tensor)")
            if role == "output" and op.kind not in (OpKind.SOFTMAX, OpKind.NORMALIZATION):
                bad = [d for d in map(ix.dims_of, acc.index) for d in d if d in op.reduce]
                if bad:
                    raise IRValidationError(f"{where}: output indexed by reduction dim(s) {bad}")
        unused = [d for d in op.dims if d not in used]
        if unused:
            raise IRValidationError(f"{where}: dims {unused} index no operand")
        defined.add(op.output.tensor)
    for name in graph.outputs:
        if name not in defined:
            raise IRValidationError(f"graph output {name!r} is produced by no op and is not an input")
    names = {o.name for o in graph.ops}
    for b in graph.blocks:
        if b.repeat < 1:
            raise IRValidationError(f"block {b.name!r}: repeat must be >= 1, got {b.repeat}")
        missing = [n for n in b.ops if n not in names]
        if missing:
            raise IRValidationError(f"block {b.name!r}: ops {missing} are not in the graph")
        # an entry whose weight a pass removed (with the ops reading it) is stale and harmless; a live entry's
        # counterparts are what the parameter count reads
        unknown = [n for k, v in b.weights.items() if k in graph.tensors for n in v if n not in graph.tensors]
        if unknown:
            raise IRValidationError(f"block {b.name!r}: weights {unknown} are not declared tensors")
    return graph


ATTENTION_DIMS = ("q", "kv", "d", "dv")


def _check_attention(op, where: str) -> None:
    """A fused attention op reads query, key and value first (masks and biases after) over dims q, kv, d, dv."""
    if len(op.inputs) < 3:
        raise IRValidationError(f"{where}: an attention op reads query, key and value (3 inputs, then any masks), "
                                f"has {len(op.inputs)}")
    missing = [d for d in ATTENTION_DIMS if d not in op.dims]
    if missing:
        raise IRValidationError(f"{where}: an attention op needs dims {list(ATTENTION_DIMS)}; {missing} missing")
