"""The IR's data types: a Graph of Ops over Tensors, with repeated blocks stored once.

An Op is plain data, in the manner of torch.fx's Node: a kind, named loop dimensions with sizes, which of them
reduce, and for every operand an index map (one affine expression per tensor axis) over those dimensions.
Everything derived from it -- MACs, bytes, validation, serialisation -- lives in the passes beside this module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator


class OpKind(str, enum.Enum):
    """What an operator does, at the granularity the hardware model needs."""

    MATMUL = "matmul"
    BATCH_MATMUL = "batch_matmul"
    CONV = "conv"
    ELEMENTWISE = "elementwise"
    REDUCTION = "reduction"
    NORMALIZATION = "normalization"
    SOFTMAX = "softmax"
    RESHAPE = "reshape"
    TRANSPOSE = "transpose"
    CONCAT = "concat"
    SLICE = "slice"
    GATHER = "gather"
    PAD = "pad"
    EMBEDDING = "embedding"
    GENERIC = "generic"  # described from a TensorIR loop nest; contraction or not is read from its dims
    ATTENTION = "attention"  # fused QK^T -> scale/mask -> softmax -> .V (ir.fuse_attention); see ir/attention.py

    @property
    def category(self) -> str:
        """``contraction``, ``vector``, ``movement`` or ``attention`` -- which unit of an accelerator runs it
        (``attention``: a fused chain of two contractions and vector work, scheduled as one)."""
        return _CATEGORY[self]


_CATEGORY = {
    OpKind.MATMUL: "contraction", OpKind.BATCH_MATMUL: "contraction", OpKind.CONV: "contraction",
    OpKind.ELEMENTWISE: "vector", OpKind.REDUCTION: "vector", OpKind.NORMALIZATION: "vector",
    OpKind.SOFTMAX: "vector", OpKind.GENERIC: "vector",
    OpKind.RESHAPE: "movement", OpKind.TRANSPOSE: "movement", OpKind.CONCAT: "movement",
    OpKind.SLICE: "movement", OpKind.GATHER: "movement", OpKind.PAD: "movement", OpKind.EMBEDDING: "movement",
    OpKind.ATTENTION: "attention",
}


class TensorRole(str, enum.Enum):
    INPUT = "input"            # a graph input (image, tokens)
    PARAM = "param"            # a weight, read from memory, not produced by any op
    CONST = "const"            # a small constant folded from the model (masks, positions)
    ACTIVATION = "activation"  # produced by an op


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    bits: int = 8
    role: TensorRole = TensorRole.ACTIVATION
    origin: tuple[str, ...] = ()          # a weight precomputed from other weights: the weights it derives from

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> float:
        return self.numel * self.bits / 8


@dataclass
class Access:
    """One operand of an op: a tensor and, per tensor axis, the affine expression that indexes it."""

    tensor: str
    index: tuple[str, ...]


@dataclass
class Op:
    name: str
    kind: OpKind
    dims: dict[str, int]                  # loop dimensions, in loop order, with their sizes
    inputs: list[Access]
    output: Access
    reduce: tuple[str, ...] = ()          # dims summed over; for softmax and norms, the dims normalised over
    fn: str = ""                          # the scalar function: add, mul, exp, gelu, layer_norm, ...
    bits: int = 8                         # element bit-width of the computation
    provenance: tuple[str, ...] = ()      # the nodes it was converted from (Relax binding, torch/ONNX node)
    attrs: dict[str, Any] = field(default_factory=dict)
    source: str = ""                      # its place in the model: a module path, ONNX namespace or node name;
                                          # in a repeated block, ``*`` marks what differs between the copies

    @property
    def iterations(self) -> int:
        """Points in the iteration space: MACs for a contraction, element operations otherwise."""
        n = 1
        for s in self.dims.values():
            n *= s
        return n

    @property
    def einsum(self) -> str:
        """Einsum-style summary, e.g. ``b m k, k n -> b m n``."""
        def one(ix: tuple[str, ...]) -> str:
            return " ".join(ix) if ix else "()"
        return f"{', '.join(one(a.index) for a in self.inputs)} -> {one(self.output.index)}"


@dataclass
class Block:
    """Ops that stand for ``repeat`` identical consecutive copies (e.g. one transformer layer of twelve).

    ``weights`` maps each weight the stored ops read to the weights the other copies read in its place (copy 1,
    2, ...): the same name throughout for a shared layer (ALBERT), distinct names for per-layer weights. A weight
    with no entry, or copies beyond those listed, stand for a weight of their own per copy."""

    name: str
    ops: tuple[str, ...]
    repeat: int
    weights: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def op(self, name: str) -> Op:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(f"graph {self.name!r} has no op named {name!r}")

    def multiplicity(self) -> dict[str, int]:
        """How many times each op runs: its block's repeat count, or 1."""
        mult = {o.name: 1 for o in self.ops}
        for b in self.blocks:
            for n in b.ops:
                mult[n] = b.repeat
        return mult

    def weighted_ops(self) -> Iterator[tuple[Op, int]]:
        """Each stored op with the number of times it runs."""
        mult = self.multiplicity()
        for o in self.ops:
            yield o, mult[o.name]

    def add_tensor(self, name: str, shape: tuple[int, ...], bits: int = 8,
                   role: TensorRole = TensorRole.ACTIVATION) -> Tensor:
        t = Tensor(name, tuple(int(s) for s in shape), bits, role)
        self.tensors[name] = t
        return t
