"""Models in: torch modules (torch.export) and ONNX files, lowered through TVM Relax into CATX's IR.

``frontend.load(spec)`` is the entry point; heavy libraries (torch, TVM, onnx) are imported on first use.
"""

from .errors import (
    BindingError,
    FrontendError,
    InvalidAttributeError,
    ModelFileError,
    ModelSpecError,
    UnboundDimensionError,
    UnsupportedOpError,
)
from .gemm import gemm_graph
from .moe import LoadModel
from .specs import SPEC_FORMS, load


def load_module(module, example_inputs, name=None, bits: int = 8, fold: bool = True,
                source_root: tuple[str, str] = ("", ""), keep_weight_compute: bool = False, moe_load=None):
    """Lower an ``nn.Module`` called on ``example_inputs`` to IR (see ``frontend.torch_import``)."""
    from .torch_import import load_module as _load
    return _load(module, example_inputs, name=name, bits=bits, fold=fold, source_root=source_root,
                 keep_weight_compute=keep_weight_compute, moe_load=moe_load)


def load_onnx(path, dims=None, shapes=None, name=None, bits: int = 8, fold: bool = True,
              keep_weight_compute: bool = False, moe_load=None):
    """Lower an ONNX file to IR, binding dynamic dims by name (``dims``) or per input (``shapes``)."""
    from .onnx_import import load_onnx as _load
    return _load(path, dims=dims, shapes=shapes, name=name, bits=bits, fold=fold,
                 keep_weight_compute=keep_weight_compute, moe_load=moe_load)


__all__ = ["BindingError", "FrontendError", "InvalidAttributeError", "LoadModel", "ModelFileError", "ModelSpecError",
           "SPEC_FORMS", "UnboundDimensionError", "UnsupportedOpError", "gemm_graph", "load", "load_module",
           "load_onnx"]
