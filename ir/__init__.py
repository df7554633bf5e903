"""CATX's operator-graph IR: plain, hardware-oriented, serialisable; imports nothing from the other layers."""

from . import facts
from .analysis import (
                       GraphTotals,
                       arithmetic_intensity,
                       attention_parts,
                       is_contraction,
                       macs,
                       operand_bytes,
                       totals,
                       vector_ops,
)
from .artefacts import drop_mask_artefacts
from .attention import fuse_attention, unfused_graph
from .epilogues import fuse_epilogues
from .errors import CatxError, InputFileError, IRError, IRFormatError, IRValidationError, OpLookupError
from .fusion import fuse
from .graph import Access, Block, Graph, Op, OpKind, Tensor, TensorRole
from .lookup import closest_ops, find_op, find_ops
from .merge import merge
from .printer import dump, op_rows
from .repeats import expand_count, fold_repeats, signature
from .serialize import from_dict, from_json, load, save, to_dict, to_json
from .validate import validate

__all__ = [
    "Access", "Block", "CatxError", "Graph", "GraphTotals", "IRError", "IRFormatError", "IRValidationError",
    "InputFileError", "Op", "OpKind", "OpLookupError", "Tensor", "TensorRole", "arithmetic_intensity",
    "attention_parts", "closest_ops", "drop_mask_artefacts", "dump", "expand_count", "facts", "find_op", "find_ops",
    "fold_repeats", "from_dict", "from_json", "fuse", "fuse_attention", "fuse_epilogues", "is_contraction", "load",
    "macs", "merge", "op_rows", "operand_bytes", "save", "signature", "to_dict", "to_json", "totals",
    "unfused_graph", "validate", "vector_ops",
]
