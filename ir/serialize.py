"""Versioned JSON form of a Graph; ``from_json(to_json(g)) == g`` exactly; documents are checked on load.

``attrs`` and ``meta`` must hold JSON values (str, int, float, bool, None, lists, dicts with str keys).
Version 2 adds each op's ``source``, each derived weight's ``origin`` and each block's ``weights`` per copy;
version-1 documents still load (without them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import IRError, IRFormatError
from .files import load_json, parse_json, write_text
from .graph import Access, Block, Graph, Op, OpKind, Tensor, TensorRole
from .validate import validate

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


def tensor_to_dict(t: Tensor) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape), "bits": t.bits, "role": t.role.value,
            **({"origin": list(t.origin)} if t.origin else {})}


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


def _need(d: Any, key: str, where: str, kind: type | tuple[type, ...] | None = None) -> Any:
    if not isinstance(d, dict):
        raise IRFormatError(f"{where}: must be an object with field {key!r}, got {type(d).__name__}")
    if key not in d:
        raise IRFormatError(f"{where}: missing field {key!r}")
    return _typed(d[key], f"{where}: field {key!r}", kind)


def _typed(value: Any, where: str, kind: type | tuple[type, ...] | None) -> Any:
    """``value`` when it has JSON type ``kind`` (an int is never a bool here); IRFormatError otherwise."""
    if kind is None:
        return value
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
    if not ok:
        names = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
        want = " or ".join(names.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise IRFormatError(f"{where} must be {want}, got {json.dumps(value)[:80] if _plain(value) else value!r:.80}")
    return value


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _strings(value: Any, where: str) -> list[str]:
    return [_typed(x, f"{where}[{i}]", str) for i, x in enumerate(_typed(value, where, list))]


def _ints(value: Any, where: str) -> list[int]:
    return [_typed(x, f"{where}[{i}]", int) for i, x in enumerate(_typed(value, where, list))]


def tensor_from_dict(t: Any, w: str = "<tensor>") -> Tensor:
    """A Tensor from its JSON form; IRFormatError naming the field when a type is wrong."""
    return Tensor(_need(t, "name", w, str), tuple(_ints(_need(t, "shape", w), f"{w}.shape")),
                  _need(t, "bits", w, int), TensorRole(_need(t, "role", w, str)),
                  tuple(_strings(t.get("origin", []), f"{w}.origin")))


def _access(a: Any, w: str) -> Access:
    return Access(_need(a, "tensor", w, str), tuple(_strings(_need(a, "index", w), f"{w}.index")))


def op_from_dict(o: Any, w: str = "<op>") -> Op:
    """An Op from its JSON form; IRFormatError naming the field when a type is wrong."""
    if not isinstance(o, dict):
        raise IRFormatError(f"{w}: must be an object, got {type(o).__name__}")
    dims = {}
    for j, pair in enumerate(_need(o, "dims", w, list)):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise IRFormatError(f"{w}.dims[{j}] must be a [name, size] pair")
        dims[_typed(pair[0], f"{w}.dims[{j}] name", str)] = _typed(pair[1], f"{w}.dims[{j}] size", int)
    return Op(name=_need(o, "name", w, str), kind=OpKind(_need(o, "kind", w, str)),
              fn=_typed(o.get("fn", ""), f"{w}.fn", str), dims=dims,
              reduce=tuple(_strings(o.get("reduce", []), f"{w}.reduce")),
              inputs=[_access(a, f"{w}.inputs[{j}]") for j, a in enumerate(_need(o, "inputs", w, list))],
              output=_access(_need(o, "output", w, dict), f"{w}.output"),
              bits=_typed(o.get("bits", 8), f"{w}.bits", int),
              provenance=tuple(_strings(o.get("provenance", []), f"{w}.provenance")),
              attrs=_typed(o.get("attrs", {}), f"{w}.attrs", dict),
              source=_typed(o.get("source", ""), f"{w}.source", str))


def from_dict(doc: dict[str, Any], source: str = "<dict>", check: bool = True) -> Graph:
    """The Graph of a document; every field's type is checked and, with ``check``, the graph is validated
    (``ir.validate``: sizes >= 1, repeats >= 1, tensors that exist, shapes that agree with the index maps)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise IRFormatError(f"{source}: not a CATX IR document (field 'format' must be {FORMAT!r})")
    if doc.get("version") not in READABLE:
        raise IRFormatError(f"{source}: IR version {doc.get('version')!r:.40} is not supported (this CATX reads "
                            f"{', '.join(map(str, READABLE))})")
    try:
        g = Graph(name=_need(doc, "name", "document", str), inputs=_strings(_need(doc, "inputs", "document"), "inputs"),
                  outputs=_strings(_need(doc, "outputs", "document"), "outputs"),
                  meta=_typed(doc.get("meta", {}), "meta", dict))
        for i, t in enumerate(_need(doc, "tensors", "document", list)):
            tensor = tensor_from_dict(t, f"tensors[{i}]")
            if tensor.name in g.tensors:
                raise IRFormatError(f"tensors[{i}]: tensor {tensor.name!r} is declared twice")
            g.tensors[tensor.name] = tensor
        g.ops = [op_from_dict(o, f"ops[{i}]") for i, o in enumerate(_need(doc, "ops", "document", list))]
        for i, b in enumerate(_typed(doc.get("blocks", []), "blocks", list)):
            w = f"blocks[{i}]"
            weights = _typed(b.get("weights", {}), f"{w}.weights", dict) if isinstance(b, dict) else {}
            g.blocks.append(Block(_need(b, "name", w, str), tuple(_strings(_need(b, "ops", w), f"{w}.ops")),
                                  _need(b, "repeat", w, int),
                                  {k: tuple(_strings(v, f"{w}.weights[{k!r}]")) for k, v in weights.items()}))
        if check:
            validate(g)
    except (ValueError, TypeError) as e:        # an unknown kind or role (ValueError), an unhashable name, ...
        raise IRFormatError(f"{source}: {e}") from None
    except IRError as e:
        raise type(e)(f"{source}: {e}") from None
    return g


def to_json(graph: Graph, indent: int | None = 1) -> str:
    return json.dumps(to_dict(graph), indent=indent)


def from_json(text: str, source: str = "<json>", check: bool = True) -> Graph:
    return from_dict(parse_json(text, source, "IR document", IRFormatError), source, check)


def save(graph: Graph, path: str | Path) -> None:
    write_text(path, to_json(graph), "IR file")


def load(path: str | Path, check: bool = True) -> Graph:
    """Read an IR JSON file through the guarded loader (``ir.files``) and validate it."""
    return from_dict(load_json(path, "IR file", IRFormatError), str(path), check)
