"""``.onnx`` file -> TVM Relax (``from_onnx``, dynamic dimensions bound by the user) -> IR, each op with its source.

The file is checked before TVM sees it: readable, ops TVM can import, attributes in range (a Conv dilation of 0
is an error, not a silent answer), every ``dims``/``shapes`` binding naming a real input. Local functions are
inlined. TVM's importer is extended to record each node's source (the module path in torch's exporter metadata,
else the node name) and to name the node when a conversion fails.
"""

from __future__ import annotations

import contextlib
import difflib
import io
from pathlib import Path
from typing import Any

from ir import CatxError, Graph, fold_repeats
from ir.files import check_file

from .errors import (
    BindingError,
    FrontendError,
    InvalidAttributeError,
    ModelFileError,
    UnboundDimensionError,
    UnsupportedOpError,
)
from .relax_to_ir import relax_to_ir
from .sources import Origin, binding_origins, one_line, onnx_source

# Attributes of window ops and their least allowed entry (ONNX's spec; TVM accepts what it should reject).
WINDOW_OPS = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool")
LEAST = {"dilations": 1, "strides": 1, "kernel_shape": 1, "group": 1, "pads": 0, "output_padding": 0}

MAX_ONNX_BYTES = 2**31          # protobuf's limit; larger models keep their weights as external data


def _read(path: Path):
    import onnx

    check_file(path, "ONNX file", ModelFileError, MAX_ONNX_BYTES)   # missing, a directory, a device, over 2 GiB
    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise ModelFileError(f"{path}: not a readable ONNX model (corrupt or truncated?): {one_line(e)}") from None
    if not model.graph.node:
        raise ModelFileError(f"{path}: the ONNX graph has no nodes (corrupt or truncated?)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise ModelFileError(f"{path}: ONNX checker rejected the model: {one_line(e)}") from None
    if model.functions:
        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as e:
            raise ModelFileError(f"{path}: its local functions cannot be inlined: {one_line(e)}") from None
    return model


def check_ops(model, path: Path) -> None:
    """Name the first node whose op type TVM's ONNX importer cannot convert (TVM itself names only the type)."""
    try:
        from tvm.relax.frontend.onnx.onnx_frontend import _get_convert_map
        known = set(_get_convert_map()) | {"If", "Constant"}
    except ImportError:  # a TVM without that table: let the importer speak for itself
        return
    for node in model.graph.node:
        if node.op_type not in known:
            domain = f" (domain {node.domain!r})" if node.domain else ""
            raise UnsupportedOpError(f"{path}: node {node.name or '<unnamed>'!r} has op type {node.op_type!r}{domain}, "
                                     "which TVM's ONNX importer cannot convert; CATX needs it in Relax to lower it")


def check_attributes(model, path: Path) -> None:
    """Reject window ops (Conv, pooling) whose dilations, strides, kernel, group or pads are out of range."""
    from onnx import helper

    for node in model.graph.node:
        if node.op_type not in WINDOW_OPS:
            continue
        for a in node.attribute:
            if a.name not in LEAST:
                continue
            value = helper.get_attribute_value(a)
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if any(not isinstance(v, int) or v < LEAST[a.name] for v in values):
                raise InvalidAttributeError(
                    f"{path}: node {node.name or '<unnamed>'!r} ({node.op_type}) has {a.name}={values}; every "
                    f"entry must be an integer >= {LEAST[a.name]}")


def input_shapes(model, path: Path, dims: dict[str, int], shapes: dict[str, list[int]]) -> dict[str, list[int]]:
    """Static shape of every graph input, binding symbolic dims from ``dims`` (by name) or ``shapes`` (by input)."""
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    _check_bindings(path, inputs, dims, shapes)
    out: dict[str, list[int]] = {}
    for inp in inputs:
        if inp.type.tensor_type.elem_type == 0:     # UNDEFINED: the checker lets it through, TVM cannot type it
            raise ModelFileError(f"{path}: input {inp.name!r} has no element type (elem_type 0, UNDEFINED)")
        if inp.name in shapes:
            out[inp.name] = [int(s) for s in shapes[inp.name]]
            continue
        shape = []
        for axis, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            elif d.dim_param and d.dim_param in dims:
                shape.append(int(dims[d.dim_param]))
            else:
                label = d.dim_param or f"axis {axis}"
                raise UnboundDimensionError(
                    f"{path}: input {inp.name!r} has dynamic dimension {label!r} (axis {axis}); bind it with "
                    f"dims={{'{d.dim_param or 'NAME'}': N}} (CLI: --dim {d.dim_param or 'NAME'}=N) or "
                    f"shapes={{'{inp.name}': [...]}} (CLI: --shape {inp.name}=D0,D1,...)")
        out[inp.name] = shape
    return out


def _check_bindings(path: Path, inputs: list, dims: dict[str, int], shapes: dict[str, list[int]]) -> None:
    """Every binding names a real dynamic dim or input, and binds it to a positive size."""
    params = sorted({d.dim_param for i in inputs for d in i.type.tensor_type.shape.dim if d.dim_param})
    for name, n in dims.items():
        if name not in params:
            close = difflib.get_close_matches(name, params, n=1)
            raise BindingError(f"{path}: --dim {name}={n} matched no input; inputs have dims {params or 'none'}"
                               f"{f' (did you mean {close[0]!r}?)' if close else ''}")
        if not isinstance(n, int) or n < 1:
            raise BindingError(f"{path}: --dim {name}={n}: a dimension must be an integer >= 1")
    names = [i.name for i in inputs]
    for name, shape in shapes.items():
        if name not in names:
            raise BindingError(f"{path}: --shape {name}=... matched no input; inputs are {names}")
        if not shape or any(not isinstance(s, int) or s < 1 for s in shape):
            raise BindingError(f"{path}: --shape {name}={shape}: every dimension must be an integer >= 1")


def _importer(path: Path, shape_dict: dict[str, list[int]], nodes: dict[str, Any]) -> Any:
    """An instance of TVM's ONNXGraphImporter that records each node's origin and names a failing node."""
    from tvm import relax
    from tvm.relax.frontend.onnx.onnx_frontend import ONNXGraphImporter

    class Importer(ONNXGraphImporter):
        def __init__(self) -> None:
            super().__init__(shape_dict, "float32", keep_params_in_input=False, sanitize=True)
            self.recorded: list[tuple[Any, Origin]] = []

        def _convert_operator(self, op_name: str, inputs: list, attrs: dict, opset: int) -> Any:
            name = attrs["tvm_custom"]["name"]
            node = nodes.get(name)
            origin = Origin(onnx_source(node) if node is not None else name, name)
            try:
                sym = super()._convert_operator(op_name, inputs, attrs, opset)
            except CatxError:
                raise
            except Exception as e:  # TVM raises its own types from C++
                raise FrontendError(f"{path}: TVM's ONNX importer failed on node {name or '<unnamed>'!r} "
                                    f"({op_name}): {one_line(e)}") from None
            for expr in sym.fields if isinstance(sym, relax.Tuple) else [sym]:
                if isinstance(expr, relax.Expr):
                    self.recorded.append((expr, origin))
            return sym

    return Importer()


def onnx_to_relax(model, path: Path, shape_dict: dict[str, list[int]]) -> tuple[Any, dict[str, Origin]]:
    """The Relax module of an ONNX model and the origin (source, node) of each of its bindings."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    importer = _importer(path, shape_dict, {n.name: n for n in model.graph.node})
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # TVM prints the failing node's inputs in full
            # initializers stay constants so TVM resolves shape arithmetic (Expand, Reshape targets) statically
            mod = importer.from_onnx(model.graph, opset)
    except CatxError:
        raise
    except Exception as e:
        raise FrontendError(f"{path}: TVM's ONNX importer failed: {one_line(e)}") from None
    by_expr = {expr.__chandle__(): origin for expr, origin in importer.recorded}
    recorded = {}
    for block in mod["main"].body.blocks:
        for b in block.bindings:
            key = b.value.__chandle__() if hasattr(b.value, "__chandle__") else None
            origin = by_expr.get(key) or by_expr.get(b.var.__chandle__())
            if origin is not None:
                recorded[b.var.name] = origin
    return mod, binding_origins(mod["main"], recorded)


def load_onnx(path: str | Path, dims: dict[str, int] | None = None, shapes: dict[str, list[int]] | None = None,
              name: str | None = None, bits: int = 8, fold: bool = True, keep_weight_compute: bool = False,
              moe_load: Any = None) -> Graph:
    """Lower an ONNX file to a validated IR graph (repeated layers folded)."""
    p = Path(path)
    model = _read(p)
    check_ops(model, p)
    check_attributes(model, p)
    shape_dict = input_shapes(model, p, dims or {}, shapes or {})
    mod, origins = onnx_to_relax(model, p, shape_dict)
    g = relax_to_ir(mod, name or p.stem, bits=bits, origins=origins, keep_weight_compute=keep_weight_compute,
                    moe_load=moe_load)
    g.meta["source"] = "onnx"
    return fold_repeats(g) if fold else g
