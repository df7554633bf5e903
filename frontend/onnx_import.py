"""``.onnx`` file -> TVM Relax (``from_onnx``, dynamic dimensions bound by the user) -> IR."""

from __future__ import annotations

from pathlib import Path

from ir import Graph, fold_repeats
from ir.files import check_file

from .errors import FrontendError, ModelFileError, UnboundDimensionError, UnsupportedOpError
from .relax_to_ir import relax_to_ir

MAX_ONNX_BYTES = 2**31          # protobuf's limit; larger models keep their weights as external data


def _read(path: Path):
    import onnx

    check_file(path, "ONNX file", ModelFileError, MAX_ONNX_BYTES)   # missing, a directory, a device, over 2 GiB
    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise ModelFileError(f"{path}: not a readable ONNX model (corrupt or truncated?): "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not model.graph.node:
        raise ModelFileError(f"{path}: the ONNX graph has no nodes (corrupt or truncated?)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise ModelFileError(f"{path}: ONNX checker rejected the model: {str(e).splitlines()[0]}") from None
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


def input_shapes(model, path: Path, dims: dict[str, int], shapes: dict[str, list[int]]) -> dict[str, list[int]]:
    """Static shape of every graph input, binding symbolic dims from ``dims`` (by name) or ``shapes`` (by input)."""
    inits = {i.name for i in model.graph.initializer}
    out: dict[str, list[int]] = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
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


def load_onnx(path: str | Path, dims: dict[str, int] | None = None, shapes: dict[str, list[int]] | None = None,
              name: str | None = None, bits: int = 8, fold: bool = True) -> Graph:
    """Lower an ONNX file to a validated IR graph (repeated layers folded)."""
    from tvm.relax.frontend.onnx import from_onnx

    p = Path(path)
    model = _read(p)
    check_ops(model, p)
    shape_dict = input_shapes(model, p, dims or {}, shapes or {})
    try:
        # initializers stay constants so TVM resolves shape arithmetic (Expand, Reshape targets) statically
        mod = from_onnx(model, shape_dict=shape_dict, keep_params_in_input=False)
    except Exception as e:
        msg = str(e).strip().splitlines()
        raise FrontendError(f"{p}: TVM's ONNX importer failed: {msg[-1] if msg else type(e).__name__}") from None
    g = relax_to_ir(mod, name or p.stem, bits=bits)
    g.meta["source"] = "onnx"
    return fold_repeats(g) if fold else g
