"""Relax -> IR conversion: walks a Relax function's bindings and applies the rule registered for each op.

Rules live in ``frontend.rules`` (one module per op family, looked up in ``frontend.registry``). An op without a
rule is legalised to TensorIR and described from its loop nest by ``frontend.tir_generic``; only an op TVM cannot
legalise raises ``UnsupportedOpError``. Ops whose tensor inputs are all weights or constants are folded away:
their result is a weight (or constant) too, as a compiler would precompute it; the work folded is measured and
reported in ``graph.meta["folded"]``, the derived weight remembers the weights it came from (``Tensor.origin``),
and ``keep_weight_compute=True`` keeps compute on weights as ops instead. Each op carries its place in the model
(``Op.source``) from the origins the importer recorded per binding.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import numpy as np
import tvm
from tvm import relax

from ir import Access, CatxError, Graph, Op, OpKind, TensorRole, validate
from ir.analysis import macs, moved_elements, vector_ops

from . import rules as _rules  # noqa: F401  (importing the families registers every rule)
from .const_eval import evaluate, record_facts
from .errors import FrontendError, UnboundDimensionError
from .moe import LoadModel
from .registry import lookup
from .sources import Origin, one_line
from .tir_generic import convert_generic


def static_shape(ty: Any, where: str) -> tuple[int, ...]:
    shape = getattr(ty, "shape", None)
    if shape is None:
        raise UnboundDimensionError(f"{where}: tensor of unknown rank; bind the model's input shapes")
    out = []
    for v in shape.values:
        if not isinstance(v, tvm.tirx.IntImm):
            raise UnboundDimensionError(f"{where}: dimension {v} is symbolic; bind it (onnx: dims={{'{v}': N}} "
                                        "or --dim NAME=N; torch: export with static example inputs)")
        out.append(int(v.value))
    return tuple(out)


def _dtype_bits(ty: Any) -> tuple[str, int]:
    dt = str(ty.dtype)
    return dt, tvm.DataType(dt).bits


class Converter:
    """State of one conversion: the graph being built and the Relax value -> tensor name environment."""

    def __init__(self, name: str, bits: int = 8, origins: dict[str, Origin] | None = None,
                 keep_weight_compute: bool = False, moe_load: Any = None, weights_in_constants: bool = True):
        self.graph = Graph(name)
        self.bits = bits
        self.weights_in_constants = weights_in_constants  # ONNX initializers are weights; torch buffers are not
        self.origins = origins or {}        # binding name -> where in the model it comes from
        self.origin = Origin("", "")        # that of the binding being converted
        self.keep_weight_compute = keep_weight_compute
        self.moe_load = LoadModel.parse(moe_load)
        self.routing: dict[str, int] = {}   # mixture-of-experts facts a routing rule found (top_k, experts, tokens)
        self.folded = {"calls": 0, "ops": 0, "macs": 0, "vector_ops": 0, "moved_elements": 0, "unmeasured": 0}
        self._folded_as: dict[tuple, Any] = {}  # folded call -> its result (the same weight compute, once)
        self.env: dict[Any, Any] = {}      # relax Var -> tensor name | tuple | python value
        self.by_name: dict[str, Any] = {}  # the same, by variable name (legalised modules have new Var objects)
        self._names: set[str] = set()
        self.node = ""                      # name of the binding being converted (provenance)
        self.legalized: dict[str, Any] | None = None  # binding name -> binding of the TensorIR-legalised module
        self.module: tvm.IRModule | None = None
        self._const_values: dict[str, np.ndarray] = {}  # constant tensor -> its value (a take's index, ...)
        self._constants: set[str] = set()   # tensors declared for Relax constants (kept: the env refers to them)
        self._weight_by_value: dict[tuple, str] = {}  # an embedded weight's values -> the first tensor holding them

    # --- tensors -------------------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        base = base or "t"
        name, i = base, 1
        while name in self._names:
            name = f"{base}_{i}"
            i += 1
        self._names.add(name)
        return name

    def declare(self, base: str, ty: Any, role: TensorRole = TensorRole.ACTIVATION) -> str:
        shape = static_shape(ty, f"node {base!r}")
        dt, bits = _dtype_bits(ty)
        if dt.startswith(("float", "bfloat")):
            bits = self.bits
        else:
            bits = min(max(bits, 8), 32)
        name = self.fresh(base)
        self.graph.add_tensor(name, shape, bits, role)
        return name

    def shape(self, tensor: str) -> tuple[int, ...]:
        return self.graph.tensors[tensor].shape

    def role(self, tensor: str) -> TensorRole:
        return self.graph.tensors[tensor].role

    def value(self, expr: Any) -> Any:
        """The converted value of a Relax expression: tensor name, tuple of them, or a python constant."""
        if isinstance(expr, (relax.Var, relax.DataflowVar)):
            if expr in self.env:
                return self.env[expr]
            if expr.name in self.by_name:
                return self.by_name[expr.name]
            raise FrontendError(f"node {self.node!r}: reads {expr.name!r} before it is defined")
        if isinstance(expr, (tvm.ir.GlobalVar, relax.ExternFunc)):
            return None
        if isinstance(expr, tvm.ir.Constant) and getattr(expr.ty, "shape", None) is None:
            v = getattr(expr, "value", None)  # a scalar (PrimValue) argument such as arange's start
            return v.value if hasattr(v, "value") else v
        if isinstance(expr, tvm.ir.Constant):
            if expr in self.env:  # one tensor per constant, however often it is read (a tied weight)
                return self.env[expr]
            # embedded weights (ONNX initializers) are PARAMs; scalars, integer tensors and buffers are constants
            weight = self.weights_in_constants and "float" in str(expr.ty.dtype) and len(expr.ty.shape.values) > 0
            name = self.declare("weight" if weight else "const", expr.ty,
                                TensorRole.PARAM if weight else TensorRole.CONST)
            self.env[expr] = name
            self._constants.add(name)
            data = getattr(expr, "value", None)
            if hasattr(data, "numpy"):
                array = data.numpy()
                self._const_values[name] = array
                if weight:
                    self._tie(name, array)
            return name
        if isinstance(expr, relax.Tuple):
            return tuple(self.value(f) for f in expr.fields)
        if isinstance(expr, relax.ShapeExpr):
            return tuple(int(v) for v in expr.values)
        if isinstance(expr, tvm.tirx.IntImm):
            return int(expr.value)
        if isinstance(expr, tvm.tirx.FloatImm):
            return float(expr.value)
        if isinstance(expr, tvm.ir.StringImm):
            return expr.value
        raise FrontendError(f"node {self.node!r}: cannot read an argument of type {type(expr).__name__}")

    def _tie(self, name: str, array: np.ndarray) -> None:
        """An embedded weight whose values equal an earlier one's, or its transpose, is that weight again: ONNX
        files hold tied weights (an LM head sharing the embedding) as copies. Constant-valued arrays (a fresh
        norm's ones) are left alone; they can be equal by chance."""
        if array.ndim < 2 or array.size < 2 or array.min() == array.max():
            return
        forms = [array] + ([array.T] if array.ndim == 2 else [])
        keys = [(f.shape, str(f.dtype), hashlib.sha1(np.ascontiguousarray(f).tobytes()).hexdigest()) for f in forms]
        first = next((self._weight_by_value[k] for k in keys if k in self._weight_by_value), None)
        if first is not None:
            self.graph.tensors[name].origin = self.graph.tensors[first].origin or (first,)
        else:
            self._weight_by_value[keys[0]] = name

    def const_value(self, tensor: str) -> np.ndarray | None:
        return self._const_values.get(tensor)

    def arg(self, call: relax.Call, i: int) -> Any:
        return self.value(call.args[i])

    # --- ops -----------------------------------------------------------------------------------------------
    def emit(self, kind: OpKind, fn: str, dims: dict[str, int], inputs: list[tuple[str, tuple[str, ...]]],
             output: tuple[str, tuple[str, ...]], reduce: tuple[str, ...] = (), **attrs: Any) -> Op:
        op = Op(name=self.fresh(f"{fn or kind.value}"), kind=kind, fn=fn, dims=dict(dims),
                inputs=[Access(t, tuple(ix)) for t, ix in inputs], output=Access(output[0], tuple(output[1])),
                reduce=tuple(reduce), bits=self.bits, attrs=attrs, source=self.origin.source,
                provenance=tuple(p for p in (self.node, self.origin.node) if p))
        self.graph.ops.append(op)
        return op

    # --- driver --------------------------------------------------------------------------------------------
    def convert_function(self, func: relax.Function, num_inputs: int | None) -> Graph:
        params = list(func.params)
        n_in = len(params) if num_inputs is None else num_inputs
        for i, p in enumerate(params):
            role = TensorRole.INPUT if i < n_in else TensorRole.PARAM
            name = self.declare(p.name, p.ty, role)
            self.env[p] = self.by_name[p.name] = name
            if role == TensorRole.INPUT:
                self.graph.inputs.append(name)
        body = func.body
        for block in body.blocks:
            for binding in block.bindings:
                self.convert_binding(binding)
        out = self.value(body.body)
        self.graph.outputs = [t for t in _flatten(out) if isinstance(t, str)]
        return self.graph

    def convert_binding(self, binding: Any) -> None:
        var, val = binding.var, binding.value
        self.node = var.name
        self.origin = self.origins.get(var.name, self.origin)
        if isinstance(val, relax.Call):
            self.env[var] = self.convert_call(var, val)
        elif isinstance(val, relax.TupleGetItem):
            self.env[var] = self.value(val.tuple_value)[val.index]
        else:
            self.env[var] = self.value(val)
        self.by_name[var.name] = self.env[var]

    def convert_call(self, var: Any, call: relax.Call) -> Any:
        op_name = _op_name(call)
        if op_name == "relax.shape_of":  # shapes are static here: the value is known at conversion time
            return self.shape(self.arg(call, 0))
        tensors = [t for a in call.args for t in _flatten(self.value(a)) if isinstance(t, str)]
        if not any(self.role(t) in (TensorRole.INPUT, TensorRole.ACTIVATION) for t in tensors):
            weights = [t for t in tensors if self.role(t) == TensorRole.PARAM]
            if not (weights and self.keep_weight_compute):
                return self.fold(var, call, op_name, weights)
        return self.apply(var, call, op_name, self.declare_output(var))

    def apply(self, var: Any, call: relax.Call, op_name: str, out: Any) -> Any:
        """Emit the ops of ``call`` into ``out`` with its rule (or through TensorIR); the tensor(s) it produces."""
        fn = lookup(op_name)
        if fn is None:
            return convert_generic(self, var, call, op_name, out)
        try:
            same = fn(self, call, out)
        except CatxError:
            raise
        except Exception as e:  # a malformed or unexpected case of a known op: name it, do not crash deep inside
            raise FrontendError(f"node {var.name!r}: could not convert {op_name!r} "
                                f"({type(e).__name__}: {one_line(e)})") from None
        if same is None:
            if isinstance(out, str) and self.role(out) == TensorRole.CONST:  # a rule found it constant (full_like)
                self.fold_value(op_name, call, var, out)
            return out
        for t in set(_flatten(out)) - set(_flatten(same)):  # a no-op (cast, same-shape broadcast): alias the input
            self.graph.tensors.pop(t, None)
        return same

    # --- folding --------------------------------------------------------------------------------------------
    def fold(self, var: Any, call: relax.Call, op_name: str, weights: list[str]) -> Any:
        """Precompute a call on weights and constants: its result is a weight derived from ``weights`` (or a
        constant), its work is measured into ``self.folded``, and the same call folded twice is one weight."""
        key = (op_name, str(call.attrs) if call.attrs is not None else "", tuple(_key(self, a) for a in call.args))
        if key in self._folded_as:
            return self._folded_as[key]
        is_weight = bool(weights) and any(t in str(var.ty) for t in ("float", "bfloat"))
        out = self.declare_output(var, TensorRole.PARAM if is_weight else TensorRole.CONST)
        self.fold_value(op_name, call, var, out)
        if is_weight:
            roots = sorted({r for t in weights for r in (self.graph.tensors[t].origin or (t,))})
            for t in _flatten(out):
                self.graph.tensors[t].origin = tuple(roots)
        self._measure(var, call, op_name, out)
        self._folded_as[key] = out
        return out

    def _measure(self, var: Any, call: relax.Call, op_name: str, out: Any) -> None:
        """Count the work a folded call would do, by converting it and taking its ops back out of the graph."""
        n_ops, tensors = len(self.graph.ops), set(self.graph.tensors)
        kept = {t: replace(self.graph.tensors[t]) for t in _flatten(out)}
        self.folded["calls"] += 1
        try:
            self.apply(var, call, op_name, out)
        except Exception:  # an op CATX cannot describe never runs on the accelerator anyway: count it as unmeasured
            self.folded["unmeasured"] += 1
        ops = self.graph.ops[n_ops:]
        del self.graph.ops[n_ops:]
        for op in ops:
            self.folded["ops"] += 1
            self.folded["macs"] += macs(op)
            self.folded["vector_ops"] += vector_ops(op)
            self.folded["moved_elements"] += moved_elements(op, self.graph)
        for t in set(self.graph.tensors) - tensors - self._constants:
            self.graph.tensors.pop(t)
        self.graph.tensors.update(kept)  # a rule may have aliased or re-marked the output

    def fold_value(self, op_name: str, call: relax.Call, var: Any, out: Any) -> None:
        """Record the value of a folded constant when its inputs' values are known (``frontend.const_eval``)."""
        if not isinstance(out, str):
            return
        args = []
        for a in call.args:
            v = self.value(a)
            if isinstance(v, str):
                v = self._const_values.get(v)
            elif isinstance(v, tuple) and any(isinstance(x, str) for x in _flatten(v)):
                v = None
            args.append(v)
        value = evaluate(op_name, call, args, self.shape(out), str(getattr(var.ty, "dtype", "")))
        if value is not None:
            self._const_values[out] = value

    def declare_output(self, var: Any, role: TensorRole = TensorRole.ACTIVATION) -> Any:
        ty = var.ty
        if isinstance(ty, relax.TupleType):
            return tuple(self.declare(f"{var.name}_{i}", t, role) for i, t in enumerate(ty.fields))
        return self.declare(var.name, ty, role)


def _flatten(v: Any) -> list[Any]:
    if isinstance(v, tuple):
        return [x for e in v for x in _flatten(e)]
    return [v]


def _op_name(call: relax.Call) -> str:
    """The registry key of a call: the Relax op's name, or ``extern:SYMBOL`` for ``call_dps_packed``."""
    if not isinstance(call.op, tvm.ir.Op):
        return str(call.op)
    if call.op.name == "relax.call_dps_packed" and hasattr(call.args[0], "global_symbol"):
        return f"extern:{call.args[0].global_symbol}"
    return call.op.name


def _key(cv: Converter, arg: Any) -> Any:
    """A hashable stand-in for a call argument (the same folded computation twice has the same key)."""
    if isinstance(arg, tvm.ir.GlobalVar):
        return arg.name_hint
    if hasattr(arg, "global_symbol"):
        return str(arg.global_symbol)
    v = cv.value(arg)
    return tuple(map(str, _flatten(v))) if isinstance(v, tuple) else str(v)


def relax_to_ir(mod: tvm.IRModule, name: str, bits: int = 8, func: str = "main",
                origins: dict[str, Origin] | None = None, keep_weight_compute: bool = False,
                moe_load: Any = None, weights_in_constants: bool = True) -> Graph:
    """Convert ``mod[func]`` into a validated IR graph.

    ``origins`` gives each binding's place in the model (from the importer); ``keep_weight_compute`` keeps
    compute on weights alone as ops (by default it is folded and only reported); ``moe_load`` is the load model
    of mixture-of-experts layers (``frontend.moe.LoadModel`` or its text form, default uniform);
    ``weights_in_constants`` says whether float constants embedded in the module are weights (ONNX
    initializers) or constants (torch buffers such as masks and position tables)."""
    if func not in [gv.name_hint for gv in mod.get_global_vars()]:
        raise FrontendError(f"Relax module has no function {func!r}")
    f = mod[func]
    attrs = f.attrs
    num_inputs = int(attrs["num_input"]) if attrs is not None and "num_input" in attrs else None
    cv = Converter(name, bits, origins, keep_weight_compute, moe_load, weights_in_constants)
    cv.module = mod
    g = cv.convert_function(f, num_inputs)
    record_facts(g, cv._const_values)
    g.meta["frontend"] = "relax"
    g.meta["bits"] = bits
    g.meta["folded"] = dict(cv.folded)
    g.meta["keep_weight_compute"] = keep_weight_compute
    if cv.routing:
        g.meta["moe_load"] = str(cv.moe_load)
    return validate(g)
