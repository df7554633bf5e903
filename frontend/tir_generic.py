"""The generic rule: an op with no table row is legalised to TensorIR and described from its loop nest.

Each TensorIR block becomes one ``GENERIC`` op: its iteration variables are the dims (reduction ones from their
iteration type), its buffer reads and writes are the operands with index maps read off the block's access
regions. Affine accesses keep exact index expressions; others (a reshape's ``floordiv``) are kept opaque.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tvm
from tvm import relax

from ir import OpKind, TensorRole

from .errors import UnsupportedOpError
from .sources import one_line

if TYPE_CHECKING:
    from .relax_to_ir import Converter


def _legalized_bindings(cv: Converter) -> dict[str, Any]:
    if cv.legalized is None:
        try:
            mod = relax.transform.LegalizeOps()(cv.module)
        except Exception as e:  # TVM raises its own error types from C++
            raise UnsupportedOpError(f"node {cv.node!r}: TVM could not legalise the model to TensorIR to describe "
                                     f"it: {one_line(e)}") from None
        cv.legalized = {"__module__": mod}
        for block in mod["main"].body.blocks:
            for b in block.bindings:
                cv.legalized[b.var.name] = b
    return cv.legalized


def convert_generic(cv: Converter, var: Any, call: relax.Call, op_name: str, out: Any) -> Any:
    """Convert the binding ``var = call`` into ``out`` through its TensorIR legalisation."""
    leg = _legalized_bindings(cv)
    b = leg.get(var.name)
    val = getattr(b, "value", None)
    if not (isinstance(val, relax.Call) and isinstance(val.op, tvm.ir.Op) and val.op.name == "relax.call_tir"):
        raise UnsupportedOpError(f"node {var.name!r}: op {op_name!r} has no CATX rule and TVM has no TensorIR "
                                 "legalisation for it, so its loop nest cannot be analysed")
    _ensure_args(cv, val, leg)
    saved, cv.module = cv.module, leg["__module__"]
    try:
        return _call_tir(cv, val, out) or out
    finally:
        cv.module = saved


def convert_generic_call(cv: Converter, call: relax.Call, out: str) -> None:
    """For rules that find a case they do not cover: re-route the current binding through TensorIR."""
    leg = _legalized_bindings(cv)
    b = leg.get(cv.node)
    if b is None:
        raise UnsupportedOpError(f"node {cv.node!r}: op {call.op.name!r} case is not supported")
    _ensure_args(cv, b.value, leg)
    saved, cv.module = cv.module, leg["__module__"]
    try:
        _call_tir(cv, b.value, out)
    finally:
        cv.module = saved


def _ensure_args(cv: Converter, call: relax.Call, leg: dict[str, Any]) -> None:
    """Bindings the legaliser introduced (not in the original program) are converted on demand."""
    for a in call.args[1].fields if isinstance(call.args[1], relax.Tuple) else [call.args[1]]:
        if isinstance(a, (relax.Var, relax.DataflowVar)) and a.name not in cv.by_name and a.name in leg:
            cv.convert_binding(leg[a.name])


def call_tir(cv: Converter, call: relax.Call, out: Any) -> Any:
    """The rule of ``relax.call_tir`` (registered in ``frontend.rules.tensorir``)."""
    return _call_tir(cv, call, out)


# --- TensorIR analysis ---------------------------------------------------------------------------------------
def _blocks(stmt: Any, found: list) -> list:
    name = type(stmt).__name__
    if name == "SBlock" and len(stmt.iter_vars) > 0:
        found.append(stmt)
    for attr in ("block", "body", "then_case", "else_case", "init"):
        child = getattr(stmt, attr, None) if name != "SBlock" or attr == "body" else None
        if isinstance(child, tvm.tirx.Stmt):
            _blocks(child, found)
    if name == "SeqStmt":
        for s in stmt.seq:
            _blocks(s, found)
    return found


def _allocs(stmt: Any) -> list:
    out: list = []

    def walk(s: Any) -> None:
        n = type(s).__name__
        if n == "SBlock":
            out.extend(s.alloc_buffers)
        for attr in ("block", "body", "then_case", "else_case"):
            c = getattr(s, attr, None)
            if isinstance(c, tvm.tirx.Stmt):
                walk(c)
        if n == "SeqStmt":
            for x in s.seq:
                walk(x)
    walk(stmt)
    return out


def _affine(e: Any, names: dict[str, str]) -> tuple[dict[str, int], int] | None:
    n = type(e).__name__
    if n == "IntImm":
        return {}, int(e.value)
    if n == "Var":
        d = names.get(e.name)
        return ({d: 1}, 0) if d else None
    if n in ("Add", "Sub"):
        a, b = _affine(e.a, names), _affine(e.b, names)
        if a is None or b is None:
            return None
        sign = 1 if n == "Add" else -1
        coefs = dict(a[0])
        for d, c in b[0].items():
            coefs[d] = coefs.get(d, 0) + sign * c
        return coefs, a[1] + sign * b[1]
    if n == "Mul":
        a, b = _affine(e.a, names), _affine(e.b, names)
        if a is None or b is None:
            return None
        if not a[0]:
            a, b = b, a
        if b[0]:
            return None
        return {d: c * b[1] for d, c in a[0].items()}, a[1] * b[1]
    if n == "Cast":
        return _affine(e.value, names)
    return None


_BINARY = {"Add": "+", "Sub": "-", "Mul": "*", "FloorDiv": "//", "FloorMod": "%", "Div": "/", "Mod": "%"}


def _text(e: Any, names: dict[str, str]) -> str:
    """Readable text of an index expression over the op's dim names (TVM's printer needs the whole function)."""
    n = type(e).__name__
    if n in ("IntImm", "FloatImm"):
        return str(e.value)
    if n == "Var":
        return names.get(e.name, e.name)
    if n in _BINARY:
        return f"({_text(e.a, names)}{_BINARY[n]}{_text(e.b, names)})"
    if n in ("Min", "Max"):
        return f"{n.lower()}({_text(e.a, names)},{_text(e.b, names)})"
    if n == "Cast":
        return _text(e.value, names)
    return n.lower()


def _index(e: Any, names: dict[str, str]) -> str:
    aff = _affine(e, names)
    if aff is None or any(c < 0 for c in aff[0].values()):
        return "@" + _text(e, names)
    terms = [d if c == 1 else f"{c}*{d}" for d, c in aff[0].items() if c]
    const = aff[1]
    text = "+".join(terms) if terms else str(const)
    if terms and const:
        text += f"+{const}" if const > 0 else f"-{-const}"
    return text


def _classify(block: Any, reduce: tuple[str, ...]) -> str:
    body = block.body
    value = getattr(body, "value", None)
    vn = type(value).__name__
    if reduce and vn == "Add" and "Mul" in (type(value.a).__name__, type(value.b).__name__):
        return "multiply_reduce"
    if reduce:
        return "reduce"
    if vn == "BufferLoad" or (vn == "Call" and "if_then_else" in str(value.op)):
        return "copy"
    return "compute"


def _call_tir(cv: Converter, call: relax.Call, out: Any) -> str | None:
    func = cv.module[call.args[0]]
    args = call.args[1].fields if isinstance(call.args[1], relax.Tuple) else [call.args[1]]
    ins = [cv.value(a) for a in args]
    outs = list(out) if isinstance(out, tuple) else [out]
    params = list(func.params)
    current: dict[Any, str] = {}  # TensorIR buffer -> the IR tensor holding its current contents
    for p, t in zip(params, [*ins, *outs]):
        current[p] = t
    produced: set[str] = set()
    for buf in _allocs(func.body):
        shape = tuple(int(s) for s in buf.shape)
        bits = cv.bits if str(buf.dtype).startswith("float") else min(max(tvm.DataType(str(buf.dtype)).bits, 8), 32)
        name = cv.fresh(f"{cv.node}.{buf.name}")
        cv.graph.add_tensor(name, shape, bits, TensorRole.ACTIVATION)
        current[buf] = name
    last = None
    for block in _blocks(func.body, []):
        names = {iv.var.name: iv.var.name.removeprefix("v_") for iv in block.iter_vars}
        dims = {names[iv.var.name]: int(iv.dom.extent) for iv in block.iter_vars}
        reduce = tuple(names[iv.var.name] for iv in block.iter_vars if int(iv.iter_type) != 0)
        written = list(block.writes)
        inputs = []
        for r in block.reads:
            if any(r.source.same_as(w.source) for w in written):
                continue  # a reduction reading its own accumulator
            ix = tuple(_index(rg.min, names) if int(rg.extent) == 1 else f"@{_text(rg.min, names)}:{int(rg.extent)}"
                       for rg in r.region)
            inputs.append((current[r.source], ix))
        fn = _classify(block, reduce)
        for w in written:  # a block writing several buffers (e.g. a Welford mean/variance pair): one op each
            target = current[w.source]
            if target in produced:  # a buffer written twice: give the new contents a new tensor
                t = cv.graph.tensors[target]
                target = cv.fresh(target)
                cv.graph.add_tensor(target, t.shape, t.bits, TensorRole.ACTIVATION)
                current[w.source] = target
            produced.add(target)
            o_ix = tuple(_index(r.min, names) for r in w.region)
            cv.emit(OpKind.GENERIC, fn, dims, inputs, (target, o_ix), reduce=reduce, block=block.name_hint,
                    padded=True)
            last = target
    if last is not None and not isinstance(out, tuple) and last != out:
        return last
    return None
