"""torch ``nn.Module`` -> torch.export -> TVM Relax (``from_exported_program``) -> IR, each op with its module path.

TVM's importer is extended, not replaced: every node's conversion is recorded (its module path from
``nn_module_stack``) and a failure is re-raised naming the node; float math on integer tensors (true division,
``log`` of an integer tensor) casts its inputs first, as torch promotes them; ``histc`` and grouped matmuls
(mixture-of-experts layers) become calls of named external functions that CATX's rules describe.
"""

from __future__ import annotations

from typing import Any

from ir import CatxError, Graph, fold_repeats

from .errors import FrontendError, UnsupportedOpError
from .relax_to_ir import relax_to_ir
from .sources import Origin, binding_origins, one_line, torch_source

# torch ops whose result is floating point even for integer inputs (torch promotes; TVM's converters do not)
FLOAT_RESULT = {"div", "true_divide", "log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "rsqrt", "sin", "cos",
                "tan", "tanh", "sigmoid", "erf", "reciprocal", "mean", "pow", "mul", "add", "sub", "ceil", "floor"}
EXTERNAL = {"histc.default": "catx.histc", "_grouped_mm.default": "catx.grouped_mm"}


def _importer(root: tuple[str, str]) -> Any:
    """An instance of TVM's ExportedProgramImporter extended as the module docstring says."""
    import torch
    from torch import fx
    from tvm import relax
    from tvm.relax.frontend.torch.exported_program_translator import ExportedProgramImporter

    class Importer(ExportedProgramImporter):
        def __init__(self) -> None:
            self.recorded: dict[str, Origin] = {}
            super().__init__()

        def create_convert_map(self) -> dict:
            table = super().create_convert_map()
            table.update({name: self._external(symbol) for name, symbol in EXTERNAL.items()})
            return {name: self._recording(name, fn) for name, fn in table.items()}

        def _external(self, symbol: str) -> Any:
            def convert(node: fx.Node) -> relax.Var:
                val = node.meta["val"]
                args = [self.env[a] for a in node.args if isinstance(a, fx.Node)]
                ty = relax.TensorType([int(s) for s in val.shape], self._convert_data_type(val.dtype))
                return self.block_builder.emit(relax.call_dps_packed(symbol, args, ty))
            return convert

        def _recording(self, name: str, fn: Any) -> Any:
            def convert(node: fx.Node, *extra: Any) -> Any:
                origin = Origin(torch_source(node, root), node.name)
                try:
                    out = self._promoted(node, fn, extra) if name.split(".")[0] in FLOAT_RESULT else fn(node, *extra)
                except CatxError:
                    raise
                except Exception as e:  # TVM raises its own types from C++
                    where = f" in {origin.source}" if origin.source else ""
                    raise FrontendError(f"TVM could not import node {node.name!r} ({name}){where}: "
                                        f"{one_line(e)}") from None
                for v in _vars(out):
                    self.recorded.setdefault(v.name, origin)
                return out
            return convert

        def _div(self, node: fx.Node) -> relax.Var:
            """``div`` with a rounding mode; a python-number divisor takes the dividend's dtype (TVM's own
            conversion makes it int32, which an int64 dividend rejects)."""
            args = self.retrieve_args(node)
            lhs, rhs = args[0], args[1]
            if isinstance(rhs, (int, float)):
                rhs = relax.const(rhs, lhs.ty.dtype)
            mode = args[2] if len(node.args) > 2 else node.kwargs.get("rounding_mode")
            if mode is None:
                return self.block_builder.emit(relax.op.divide(lhs, rhs))
            if mode == "floor":
                return self.block_builder.emit(relax.op.floor_divide(lhs, rhs))
            if mode == "trunc":
                return self.block_builder.emit(relax.op.trunc(self.block_builder.emit(relax.op.divide(lhs, rhs))))
            raise ValueError(f"unsupported rounding_mode {mode!r}")

        def _index_put(self, node: fx.Node) -> relax.Var:
            """``x[idx] = v`` (or ``+=``) indexing only the leading axes: the trailing axes get explicit index
            ranges, which TVM's own conversion lacks (it requires one index tensor per axis)."""
            args = self.retrieve_args(node)
            data, indices, values = args[0], args[1], args[2]
            accumulate = args[3] if len(args) > 3 else node.kwargs.get("accumulate", False)
            rank = len(data.ty.shape)
            if not (isinstance(indices, (list, tuple)) and 0 < len(indices) < rank
                    and all(isinstance(i, relax.Expr) for i in indices)):
                return super()._index_put(node)
            lead = [int(v) for v in indices[0].ty.shape]
            rest = [int(v) for v in data.ty.shape][len(indices):]
            full_shape = lead + rest
            emit = self.block_builder.emit
            full = [emit(relax.op.broadcast_to(emit(relax.op.reshape(i, lead + [1] * len(rest))), full_shape))
                    for i in indices]
            for j, size in enumerate(rest):
                shape = [1] * len(full_shape)
                shape[len(lead) + j] = size
                ar = emit(relax.op.arange(0, size, 1, str(indices[0].ty.dtype)))
                full.append(emit(relax.op.broadcast_to(emit(relax.op.reshape(ar, shape)), full_shape)))
            return emit(relax.op.index_put(data, relax.Tuple(full), values, bool(accumulate)))

        def _promoted(self, node: fx.Node, fn: Any, extra: tuple) -> Any:
            """Convert ``node`` with its integer tensor inputs cast to its floating-point result type."""
            val = node.meta.get("val")
            if not (isinstance(val, torch.Tensor) and val.dtype.is_floating_point):
                return fn(node, *extra)
            want = self._convert_data_type(val.dtype)
            saved = {}
            for a in node.args:
                v = self.env.get(a) if isinstance(a, fx.Node) else None
                if isinstance(getattr(v, "ty", None), relax.TensorType) and not str(v.ty.dtype).startswith(
                        ("float", "bfloat")):
                    saved[a] = v
                    self.env[a] = self.block_builder.emit(relax.op.astype(v, want))
            try:
                return fn(node, *extra)
            finally:
                self.env.update(saved)

    return Importer()


def _vars(out: Any) -> list[Any]:
    from tvm import relax

    if isinstance(out, relax.Var):
        return [out]
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in _vars(o)]
    if isinstance(out, relax.Tuple):
        return [v for f in out.fields for v in _vars(f)]
    return []


def module_to_relax(module: Any, example_inputs: tuple, root: tuple[str, str] = ("", "")) -> tuple[Any, dict]:
    """The Relax module of ``module`` and the origin (module path, node) of each of its bindings."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise FrontendError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    module = module.eval()
    try:
        with torch.no_grad():
            ep = torch.export.export(module, example_inputs).run_decompositions()
    except Exception as e:  # torch raises many error types from deep inside
        raise FrontendError(f"torch.export failed for {type(module).__name__}: {one_line(e)}") from None
    importer = _importer(root)
    for node in ep.graph.nodes:
        if node.op == "call_function" and node.target.__name__ not in importer.convert_map:
            where = torch_source(node, root)
            raise UnsupportedOpError(f"node {node.name!r} ({node.target.__name__}){' in ' + where if where else ''}"
                                     " has no TVM conversion, so CATX cannot lower it")
    try:
        mod = importer.from_exported_program(ep, True, False, False, None)
    except CatxError:
        raise
    except Exception as e:
        raise FrontendError(f"TVM could not import the exported program of {type(module).__name__}: "
                            f"{one_line(e)}") from None
    return mod, binding_origins(mod["main"], importer.recorded)


def load_module(module: Any, example_inputs: tuple, name: str | None = None, bits: int = 8, fold: bool = True,
                source_root: tuple[str, str] = ("", ""), keep_weight_compute: bool = False,
                moe_load: Any = None) -> Graph:
    """Lower an ``nn.Module`` called on ``example_inputs`` to a validated IR graph (repeated layers folded).

    ``source_root`` rewrites the start of module paths (``("", "visual")`` names a CLIP image tower's ops as in
    the whole model); ``keep_weight_compute`` keeps compute on weights alone instead of folding it;
    ``moe_load`` is the mixture-of-experts load model (``frontend.moe.LoadModel`` or its text form)."""
    mod, origins = module_to_relax(module, example_inputs, source_root)
    g = relax_to_ir(mod, name or type(module).__name__, bits=bits, origins=origins,
                    keep_weight_compute=keep_weight_compute, moe_load=moe_load, weights_in_constants=False)
    g.meta["source"] = "torch"
    return fold_repeats(g) if fold else g
