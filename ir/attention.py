"""Attention fusion: QK^T -> scale/mask/bias -> softmax -> .V, in any head layout, becomes one ``attention`` op.

``fuse_attention`` finds a contraction whose result (the scores) flows only through element-wise ops, views and
exactly one softmax over the key axis into a second contraction's first operand (P.V). It also takes in the views
(reshapes, transposes, head splits, the broadcasts that repeat grouped KV heads) and scalar scalings between the
projections and the two contractions, and the views after P.V up to the merged-heads layout, as long as nothing
outside reads their results. All of it becomes one op of kind ``attention`` (category ``"attention"``):

dims (in this order; size-1 dims are left out)
    ``b0, b1, ...``  batch-like dims shared by Q, K, V and O (batch, KV heads), outermost first;
    ``g``            query heads per KV head (grouped / multi-query attention; absent when every head has its K/V);
    ``q``            query length;  ``kv``  key length;  ``d``  Q.K head dim;  ``dv``  V head dim.
reduce
    ``("kv", "d")``.
inputs
    ``[Q, K, V, *masks]``: the tensors the chain started from, each with an affine index map over the dims (Q, K and V
    may be one packed tensor read at three offsets); a mask or bias is an input only when it is real data (an
    activation, or a constant whose pattern is not the causal triangle); scalars and the causal mask are not.
output
    the chain's last tensor, index map over ``b*, g, q, dv``.
attrs
    ``causal`` (bool: a -inf triangle masks key > query), ``kv_groups`` (int, size of ``g``), ``scale`` (float
    product of the scalars multiplying the scores, or None if one is unknown), ``roles`` (dim names by role),
    ``masks`` (per mask input: position and the op that applied it), ``unfused`` ({"tensors", "ops"}: the
    original ops in order, tensors renamed ``in<i>`` (= inputs[i]), ``out``, ``t<j>`` (intermediates), ``c<j>``
    (constants, with their ``facts``); ``unfused_graph(op)`` rebuilds them as a graph).

``ir.macs`` of the op is ``prod(dims) / (d*dv) * (d+dv)`` (QK^T plus P.V); ``ir.vector_ops`` sums the parts'.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import facts
from .analysis import is_contraction
from .graph import Access, Graph, Op, OpKind, Tensor, TensorRole
from .rewrite import Editor
from .serialize import op_from_dict, op_to_dict, tensor_from_dict, tensor_to_dict
from .validate import validate
from .views import Atoms, Layout, Untraceable, backward, dims_from, expressible, forward, is_view, layout_of

MAX_CHAIN = 32          # ops between the two contractions
MASK_FILL_MAX = -65504.0  # a masked_fill value at most this (float16's lowest, or -inf) removes a position
_CHAIN_KINDS = (OpKind.ELEMENTWISE, OpKind.REDUCTION, OpKind.SOFTMAX, OpKind.RESHAPE, OpKind.TRANSPOSE)


@dataclass
class _Match:
    qk: Op
    pv: Op
    chain: list[Op]                                 # ops between qk and pv, graph order
    paths: list[list[Op]] = field(default_factory=list)  # Q, K, V: ops from the operand back to the source
    tail: list[Op] = field(default_factory=list)    # views after pv


@dataclass
class _Built:
    atoms: Atoms
    role: dict[str, str]                            # q/kv/d/dv -> atom
    batch: list[str]                                # batch atoms (before splits), qk order
    sources: list[tuple[str, Layout]]               # Q, K, V: tensor, layout
    side: list[tuple[Op, int, Layout]]              # chain op, input position, layout of that input
    out: tuple[str, Layout]
    scale_ops: list[Op]                             # scalar multiply/divide on the Q/K paths


def _scalar_scale(ed: Editor, op: Op) -> int | None:
    """Position of the tensor operand when ``op`` multiplies or divides it by a one-element constant."""
    if op.kind != OpKind.ELEMENTWISE or op.fn not in ("multiply", "divide") or len(op.inputs) != 2:
        return None
    for i in ((0, 1) if op.fn == "multiply" else (0,)):
        s = ed.graph.tensors[op.inputs[1 - i].tensor]
        if s.numel == 1 and s.role in (TensorRole.CONST, TensorRole.PARAM) and \
                tuple(op.inputs[i].index) == tuple(op.output.index):
            return i
    return None


def _chain(ed: Editor, qk: Op) -> tuple[list[Op], Op] | None:
    """The ops that read the scores (transitively) up to P.V, or None if the scores go anywhere else."""
    chain: dict[str, Op] = {}
    tensors = {qk.output.tensor}
    pv = None
    work = [qk.output.tensor]
    while work:
        t = work.pop()
        if t in ed.graph.outputs:
            return None
        for r in ed.readers.get(t, ()):
            if r.name in chain or r is pv:
                continue
            if r.kind in (OpKind.MATMUL, OpKind.BATCH_MATMUL):
                if pv not in (None, r) or r.inputs[0].tensor != t or r.inputs[1].tensor in tensors:
                    return None
                pv = r
                continue
            if r.kind not in _CHAIN_KINDS or len(chain) >= MAX_CHAIN:
                return None
            chain[r.name] = r
            tensors.add(r.output.tensor)
            work.append(r.output.tensor)
    if pv is None or any(a.tensor in tensors for a in pv.inputs[1:]):
        return None
    ops = sorted(chain.values(), key=lambda o: ed.position[o.name])
    softmax = [o for o in ops if o.kind == OpKind.SOFTMAX]
    if len(softmax) != 1 or softmax[0].fn != "softmax" or len(softmax[0].reduce) != 1:
        return None
    if not _depends(ed, pv.inputs[0].tensor, softmax[0].output.tensor, {o.name for o in ops}):
        return None
    return ops, pv


def _depends(ed: Editor, tensor: str, on: str, inside: set[str]) -> bool:
    work, seen = [tensor], set()
    while work:
        t = work.pop()
        if t == on:
            return True
        op = ed.producer.get(t)
        if op is None or op.name not in inside or t in seen:
            continue
        seen.add(t)
        work += [a.tensor for a in op.inputs]
    return False


def _path(ed: Editor, start: Op, operand: int, scalable: bool) -> list[Op]:
    """Ops that could be absorbed walking back from ``start.inputs[operand]``: views and scalar scalings."""
    ops: list[Op] = []
    t = start.inputs[operand].tensor
    while True:
        op = ed.producer.get(t)
        if op is None or not ed.same_block([start, op]):
            return ops
        if is_view(op):
            i = 0
        elif scalable and (i := _scalar_scale(ed, op)) is not None:
            pass
        else:
            return ops
        ops.append(op)
        t = op.inputs[i].tensor


def _source_index(ed: Editor, op: Op) -> int:
    i = _scalar_scale(ed, op)
    return 0 if i is None else i


def _build(ed: Editor, m: _Match) -> _Built:
    """Layouts of every tensor the fused op reads or writes, over fresh atoms (raises Untraceable)."""
    g = ed.graph
    atoms = Atoms()
    qk, pv = m.qk, m.pv
    extra = set(qk.dims) - {"m", "n", "k"}
    if qk.reduce != ("k",) or pv.reduce != ("k",) or not {"m", "n", "k"} <= set(qk.dims) or \
            any(not d.startswith("b") for d in extra):
        raise Untraceable("not a matmul")
    role = {"q": "q", "kv": "kv", "d": "d", "dv": "dv"}
    qk_dims = {}
    batch = []
    for d, s in qk.dims.items():
        name = {"m": "q", "n": "kv", "k": "d"}.get(d, f"z{d}")
        atoms.new(name, s)
        qk_dims[d] = [("a", name)]
        if name.startswith("z"):
            batch.append(name)
    layouts: dict[str, Layout] = {qk.output.tensor: layout_of(atoms, qk.output.index, qk_dims, _shape(g, qk.output))}
    side: list[tuple[Op, int, dict]] = []
    for op in m.chain:
        known = {i: layouts[a.tensor] for i, a in enumerate(op.inputs) if a.tensor in layouts}
        out, dim_axis = forward(atoms, op, known, _shape(g, op.output))
        layouts[op.output.tensor] = out
        if op.kind in (OpKind.SOFTMAX, OpKind.REDUCTION):
            if [atoms.expand(dim_axis[r]) for r in op.reduce] != [[("a", "kv")]]:
                raise Untraceable(f"{op.name} normalises or reduces over another axis than the keys")
        side += [(op, i, dim_axis) for i, a in enumerate(op.inputs) if i not in known]
    pv_dims = dims_from(atoms, pv, {0: layouts[pv.inputs[0].tensor]})
    if atoms.expand(pv_dims.get("m", [])) != [("a", "q")] or atoms.expand(pv_dims.get("k", [])) != [("a", "kv")]:
        raise Untraceable("P.V does not contract over the keys")
    pv_dims["n"] = [atoms.new("dv", pv.dims["n"])]
    for d in pv.dims:
        if d not in pv_dims:
            raise Untraceable(f"P.V dim {d!r} is not a score dim")
    operands = [(qk, 0, qk_dims), (qk, 1, qk_dims), (pv, 1, pv_dims)]
    sources = []
    scale_ops = []
    for (op, i, dims), path in zip(operands, m.paths):
        t = op.inputs[i].tensor
        lay = layout_of(atoms, op.inputs[i].index, dims, _shape(g, op.inputs[i]))
        for p in path:
            j = _source_index(ed, p)
            if p.kind == OpKind.ELEMENTWISE:
                scale_ops.append(p)
            lay = backward(atoms, p, lay, _shape(g, p.inputs[j]), j)
            t = p.inputs[j].tensor
        sources.append((t, lay))
    out_t, out_lay = pv.output.tensor, layout_of(atoms, pv.output.index, pv_dims, _shape(g, pv.output))
    for op in m.tail:
        out_lay, _ = forward(atoms, op, {0: out_lay}, _shape(g, op.output))
        out_t = op.output.tensor
    side_layouts = [(op, i, layout_of(atoms, op.inputs[i].index, d, _shape(g, op.inputs[i]))) for op, i, d in side]
    for t, lay in [*sources, (out_t, out_lay), *((op.inputs[i].tensor, lay) for op, i, lay in side_layouts)]:
        if not expressible(atoms, lay, g.tensors[t].shape):
            raise Untraceable(f"{t} would be read partially by a plain dim")
    for r in role.values():
        if atoms.leaves(("a", r)) not in ([("a", r)], []):
            raise Untraceable(f"the {r} dim is split")
    return _Built(atoms, role, batch, sources, side_layouts, (out_t, out_lay), scale_ops)


def _shape(g: Graph, a: Access) -> tuple[int, ...]:
    return g.tensors[a.tensor].shape


def _trace(ed: Editor, qk: Op) -> _Match | None:
    """The largest absorbable region around the QK^T contraction ``qk``."""
    found = _chain(ed, qk)
    if found is None:
        return None
    chain, pv = found
    if not ed.same_block([qk, pv, *chain]):
        return None
    m = _Match(qk, pv, chain)
    m.paths = [_path(ed, qk, 0, True), _path(ed, qk, 1, True), _path(ed, pv, 1, False)]
    t = pv.output.tensor
    while len(ed.readers.get(t, ())) == 1 and t not in ed.graph.outputs:
        r = ed.readers[t][0]
        if not (is_view(r) and r.kind != OpKind.SLICE and ed.same_block([qk, r])):
            break
        m.tail.append(r)
        t = r.output.tensor
    _settle(ed, m)
    while True:  # then keep only what traces
        try:
            _build(ed, m)
            return m
        except Untraceable:
            if m.tail:
                m.tail.pop()
            elif any(m.paths):
                k = max(range(3), key=lambda k: len(m.paths[k]))
                m.paths[k] = m.paths[k][:-1]
                _settle(ed, m)
            else:
                return None


def _settle(ed: Editor, m: _Match) -> None:
    """Cut each Q/K/V path before the first op whose result is read outside the region or is where another path
    starts (a path may stop short of an op that a sibling path, sharing it, absorbed)."""
    operands = [(m.qk, 0), (m.qk, 1), (m.pv, 1)]
    while True:
        region = {o.name for o in (m.qk, m.pv, *m.chain, *m.tail, *(p for path in m.paths for p in path))}
        sources = {path[-1].inputs[_source_index(ed, path[-1])].tensor if path else op.inputs[i].tensor
                   for path, (op, i) in zip(m.paths, operands)}
        cut = False
        for k, path in enumerate(m.paths):
            for j, p in enumerate(path):
                if ed.escapes(p.output.tensor, region) or p.output.tensor in sources:
                    m.paths[k] = path[:j]
                    cut = True
                    break
        if not cut:
            return


def _value(ed: Editor, tensor: str) -> float | None:
    return facts.number(facts.of(ed.graph, tensor).get("value"))


def _scale(ed: Editor, m: _Match, b: _Built) -> float | None:
    scale = 1.0
    for op in [*b.scale_ops, *(o for o in m.chain if _scalar_scale(ed, o) is not None)]:
        i = _scalar_scale(ed, op)
        v = _value(ed, op.inputs[1 - i].tensor)
        if v is None:
            return None
        scale = scale * v if op.fn == "multiply" else scale / v
    return scale


def _rows_cols(b: _Built, lay: Layout) -> bool:
    """The last two axes of a mask are (queries, keys) and its leading axes are broadcast or batch."""
    a = b.atoms
    return len(lay) >= 2 and a.expand(lay[-2]) == [("a", "q")] and a.expand(lay[-1]) == [("a", "kv")]


def _causal_mask(ed: Editor, b: _Built, op: Op, i: int, lay: Layout) -> bool:
    """Input ``i`` of chain op ``op`` is a -inf triangle hiding keys after the query (top-left aligned)."""
    f = facts.of(ed.graph, op.inputs[i].tensor)
    if b.atoms.size["q"] != b.atoms.size["kv"] or not _rows_cols(b, lay):
        return False
    if op.fn == "add" and len(op.inputs) == 2:
        return f.get("triangle") == "causal_bias"
    if op.fn == "where" and len(op.inputs) == 3 and i == 0:
        fills = [j for j in (1, 2) if ed.graph.tensors[op.inputs[j].tensor].numel == 1]
        if len(fills) != 1 or (v := _value(ed, op.inputs[fills[0]].tensor)) is None or v > MASK_FILL_MAX:
            return False
        return f.get("triangle") == ("strict_upper" if fills[0] == 1 else "lower")
    return False


def _names(b: _Built, group: str | None) -> dict[str, str]:
    a = b.atoms
    leaves = [d[1] for z in b.batch for d in a.leaves(("a", z))]
    names = {z: f"b{j}" for j, z in enumerate(x for x in leaves if x != group)}
    if group:
        names[group] = "g"
    names.update({"q": "q", "kv": "kv", "d": "d", "dv": "dv"})
    return names


def _fuse_one(ed: Editor, m: _Match) -> Op | None:
    g = ed.graph
    b = _build(ed, m)
    a = b.atoms
    sets = [a.atoms_of(lay) for _, lay in b.sources]
    out_atoms = a.atoms_of(b.out[1])
    leaves = [d[1] for z in b.batch for d in a.leaves(("a", z))]
    group = [z for z in leaves if z in sets[0] and z not in sets[1] | sets[2]]
    if len(group) > 1 or sets[1] - {"kv", "d"} != sets[2] - {"kv", "dv"} or \
            not {"q", "d"} | set(leaves) <= sets[0] or not {"kv", "d"} <= sets[1] or not {"kv", "dv"} <= sets[2] or \
            not set(leaves) | {"q", "dv"} <= out_atoms | {z for z in leaves if a.size[z] == 1}:
        return None
    names = _names(b, group[0] if group else None)
    dims = {names[z]: a.size[z] for z in leaves if z not in group and a.size[z] > 1}
    if group:
        dims["g"] = a.size[group[0]]
    dims.update({r: a.size[r] for r in ("q", "kv", "d", "dv")})
    region = [m.qk, m.pv, *m.chain, *m.tail, *(p for path in m.paths for p in path)]
    region.sort(key=lambda o: ed.position[o.name])
    inputs = [Access(t, tuple(a.expr(lay, names) for lay in lay)) for t, lay in b.sources]
    causal = False
    masks = []
    for op, i, lay in b.side:
        t = op.inputs[i].tensor
        if g.tensors[t].numel == 1 or "uniform" in facts.of(g, t):
            continue
        if _causal_mask(ed, b, op, i, lay):
            causal = True
            continue
        masks.append({"input": len(inputs), "fn": op.fn})
        inputs.append(Access(t, tuple(a.expr(axis, names) for axis in lay)))
    output = Access(b.out[0], tuple(a.expr(axis, names) for axis in b.out[1]))
    fused = Op(ed.fresh_name("attention"), OpKind.ATTENTION, dims, inputs, output, reduce=("kv", "d"),
               fn="attention", bits=m.qk.bits, provenance=tuple(p for o in region for p in o.provenance),
               source=m.qk.source)
    fused.attrs = {
        "causal": causal, "kv_groups": dims.get("g", 1), "scale": _scale(ed, m, b),
        "roles": {"batch": [n for n in dims if n.startswith("b")], "group": "g" if group else None,
                  "query": "q", "key": "kv", "head_dim": "d", "value_dim": "dv"},
        "masks": masks, "unfused": _unfused(g, region, fused),
    }
    return fused


def _unfused(g: Graph, region: list[Op], fused: Op) -> dict[str, Any]:
    """The region's ops and tensors as JSON, names made local so identical layers get identical attrs."""
    local: dict[str, str] = {}
    for i, a in enumerate(fused.inputs):
        local.setdefault(a.tensor, f"in{i}")
    local[fused.output.tensor] = "out"
    produced = {o.output.tensor for o in region}
    n_t = n_c = 0
    tensors = []
    for o in region:
        for t in [*(a.tensor for a in o.inputs), o.output.tensor]:
            if t in local and any(d["name"] == local[t] for d in tensors):
                continue
            if t not in local:
                if t in produced:
                    local[t], n_t = f"t{n_t}", n_t + 1
                else:
                    local[t], n_c = f"c{n_c}", n_c + 1
            d = tensor_to_dict(g.tensors[t]) | {"name": local[t]}
            if facts.of(g, t):
                d["facts"] = facts.of(g, t)
            tensors.append(d)
    ops = []
    for j, o in enumerate(region):
        d = op_to_dict(o)
        d.update(name=f"part{j}", provenance=[],
                 inputs=[{"tensor": local[a.tensor], "index": list(a.index)} for a in o.inputs],
                 output={"tensor": local[o.output.tensor], "index": list(o.output.index)})
        ops.append(d)
    return {"tensors": tensors, "ops": ops}


def unfused_graph(op: Op) -> Graph:
    """The ops an ``attention`` op stands for, as a validated graph (inputs ``in<i>``, output ``out``)."""
    doc = op.attrs.get("unfused")
    if op.kind != OpKind.ATTENTION or not isinstance(doc, dict):
        raise ValueError(f"op {op.name!r} is not a fused attention op with attrs['unfused']")
    g = Graph(f"{op.name}.unfused")
    for d in doc["tensors"]:
        t: Tensor = tensor_from_dict(d)
        if t.name.startswith("in") and t.role == TensorRole.ACTIVATION:
            t.role = TensorRole.INPUT
        g.tensors[t.name] = t
        if "facts" in d:
            g.meta.setdefault(facts.KEY, {})[t.name] = d["facts"]
    g.ops = [op_from_dict(o) for o in doc["ops"]]
    g.inputs = sorted((n for n in g.tensors if n.startswith("in")), key=lambda n: int(n[2:]))
    g.outputs = ["out"]
    return validate(g)


def fuse_attention(graph: Graph) -> Graph:
    """Return a new graph with every recognised attention chain replaced by one ``attention`` op."""
    ed = Editor(copy.deepcopy(graph))
    for qk in list(ed.graph.ops):
        if qk.name not in ed.position or qk.kind not in (OpKind.MATMUL, OpKind.BATCH_MATMUL) or \
                not is_contraction(qk):
            continue
        m = _trace(ed, qk)
        if m is None:
            continue
        try:
            fused = _fuse_one(ed, m)
        except Untraceable:
            fused = None
        if fused is None:
            continue
        region = [m.qk, m.pv, *m.chain, *m.tail, *(p for path in m.paths for p in path)]
        ed.replace(region, fused)
    return validate(ed.finish())
