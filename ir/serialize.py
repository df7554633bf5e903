"""Versioned JSON form of a Graph; ``from_json(to_json(g)) == g`` exactly.

``attrs`` and ``meta`` must hold JSON values (str, int, float, bool, None, lists, dicts with str keys).
Version 2 adds each op's ``source``, each derived weight's ``origin`` and each block's ``weights`` per copy;
version-1 documents still load (without them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import IRFormatError
from .graph import Access, Block, Graph, Op, OpKind, Tensor, TensorRole

FORMAT = "catx-ir"
VERSION = 2
READABLE = (1, 2)


def op_to_dict(o: Op) -> dict[str, Any]:
    return {
        "name": o.name, "kind": o.kind.value, "fn": o.fn,
        "dims": [[d, s] for d, s in o.dims.items()], "reduce": list(o.reduce),
        "inputs": [{"tensor": a.tensor, "index": list(a.index)} for a in o.inputs],
        "output": {"tensor": o.output.tensor, "index": list(o.output.index)},
        "bits": o.bits, "provenance": list(o.provenance), "attrs": o.attrs, "source": o.source,
    }


def op_from_dict(o: dict[str, Any], where: str = "<op>") -> Op:
    out = _need(o, "output", where)
    return Op(
        name=_need(o, "name", where), kind=OpKind(_need(o, "kind", where)), fn=o.get("fn", ""),
        dims={d: int(s) for d, s in _need(o, "dims", where)}, reduce=tuple(o.get("reduce", ())),
        inputs=[Access(_need(a, "tensor", where), tuple(_need(a, "index", where))) for a in _need(o, "inputs", where)],
        output=Access(_need(out, "tensor", where), tuple(_need(out, "index", where))),
        bits=int(o.get("bits", 8)), provenance=tuple(o.get("provenance", ())), attrs=o.get("attrs", {}),
        source=str(o.get("source", "")))


def tensor_to_dict(t: Tensor) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape), "bits": t.bits, "role": t.role.value,
            **({"origin": list(t.origin)} if t.origin else {})}


def tensor_from_dict(t: dict[str, Any], where: str = "<tensor>") -> Tensor:
    return Tensor(_need(t, "name", where), tuple(_need(t, "shape", where)), int(_need(t, "bits", where)),
                  TensorRole(_need(t, "role", where)), tuple(t.get("origin", ())))


def to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "tensors": [tensor_to_dict(t) for t in graph.tensors.values()],
        "ops": [op_to_dict(o) for o in graph.ops],
        "blocks": [{"name": b.name, "ops": list(b.ops), "repeat": b.repeat,
                    **({"weights": {k: list(v) for k, v in b.weights.items()}} if b.weights else {})}
                   for b in graph.blocks],
        "meta": graph.meta,
    }


def _need(d: dict, key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise IRFormatError(f"{where}: missing field {key!r}")
    return d[key]


def from_dict(doc: dict[str, Any], source: str = "<dict>") -> Graph:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise IRFormatError(f"{source}: not a CATX IR document (field 'format' must be {FORMAT!r})")
    if doc.get("version") not in READABLE:
        raise IRFormatError(f"{source}: IR version {doc.get('version')!r} is not supported (this CATX reads "
                            f"{', '.join(map(str, READABLE))})")
    try:
        g = Graph(name=_need(doc, "name", source), inputs=list(_need(doc, "inputs", source)),
                  outputs=list(_need(doc, "outputs", source)), meta=doc.get("meta", {}))
        for i, t in enumerate(_need(doc, "tensors", source)):
            tensor = tensor_from_dict(t, f"{source}: tensors[{i}]")
            g.tensors[tensor.name] = tensor
        for i, o in enumerate(_need(doc, "ops", source)):
            g.ops.append(op_from_dict(o, f"{source}: ops[{i}]"))
        for i, b in enumerate(doc.get("blocks", [])):
            w = f"{source}: blocks[{i}]"
            g.blocks.append(Block(_need(b, "name", w), tuple(_need(b, "ops", w)), int(_need(b, "repeat", w)),
                                  {str(k): tuple(v) for k, v in dict(b.get("weights", {})).items()}))
    except (ValueError, TypeError) as e:
        raise IRFormatError(f"{source}: {e}") from None
    return g


def to_json(graph: Graph, indent: int | None = 1) -> str:
    return json.dumps(to_dict(graph), indent=indent)


def from_json(text: str, source: str = "<json>") -> Graph:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise IRFormatError(f"{source}: not valid JSON ({e})") from None
    return from_dict(doc, source)


def save(graph: Graph, path: str | Path) -> None:
    Path(path).write_text(to_json(graph))


def load(path: str | Path) -> Graph:
    p = Path(path)
    if not p.is_file():
        raise IRFormatError(f"{p}: no such file")
    return from_json(p.read_text(), str(p))
