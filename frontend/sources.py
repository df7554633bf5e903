"""Where each op comes from in the model, recorded while TVM imports it and carried to the Relax bindings.

A torch op's source is its module path from torch.export's ``nn_module_stack`` (``transformer.resblocks.3.mlp.
c_fc``); an ONNX op's is the module path in the exporter's namespace metadata, or else the node's name. Importers
record the origin of the binding each model node produces; a binding nobody recorded (one a converter emitted on
the way to its result) belongs to the next recorded binding, because converters emit their result last.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Origin:
    """A model node: its place in the model (``source``) and its own name (the torch or ONNX node)."""

    source: str
    node: str


def rerooted(path: str, root: tuple[str, str]) -> str:
    """``path`` with its leading ``root[0]`` replaced by ``root[1]`` (``("", "visual")``: ``a.b`` -> ``visual.a.b``;
    ``("m", "")``: ``m.a.b`` -> ``a.b``)."""
    old, new = root
    if old and path != old and not path.startswith(old + "."):
        return path
    rest = path[len(old):].lstrip(".") if old else path
    return ".".join(p for p in (new, rest) if p)


def torch_source(node: Any, root: tuple[str, str] = ("", "")) -> str:
    """The module path of a torch.export node (the innermost entry of its ``nn_module_stack``)."""
    stack = node.meta.get("nn_module_stack") or {}
    path = str(list(stack.values())[-1][0]) if stack else ""
    return rerooted(path, root)


def onnx_source(node: Any) -> str:
    """The module path of an ONNX node from torch's exporter metadata, else the node's name."""
    props = {p.key: p.value for p in getattr(node, "metadata_props", ())}
    scopes = props.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            names = ast.literal_eval(scopes)
            if isinstance(names, list) and len(names) >= 2:
                return str(names[-2])
        except (ValueError, SyntaxError):
            pass
    namespace = props.get("namespace", "")
    if "/" in namespace:
        return namespace.split("/")[-2].split(":")[0].strip()
    return node.name or node.op_type


def binding_origins(func: Any, recorded: dict[str, Origin]) -> dict[str, Origin]:
    """The origin of every binding of a Relax function, from those recorded by binding name."""
    names = [b.var.name for block in func.body.blocks for b in block.bindings]
    out: dict[str, Origin] = {}
    pending: list[str] = []
    for n in names:
        pending.append(n)
        if n in recorded:
            out.update({p: recorded[n] for p in pending})
            pending = []
    last = recorded.get(names[-1]) if names else None
    for p in pending:  # after the last recorded binding: the output tuple and the like
        if last is not None:
            out[p] = last
    return out


def _short_reprs(text: str) -> str:
    """TVM prints an op as ``ir.Op(span=None, ..., name="relax.log", ...)``: keep only its name."""
    while (start := text.find("ir.Op(")) >= 0:
        depth, end = 0, len(text)
        for i in range(start + 5, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                end = i + 1
                break
        inner = text[start:end]
        name = inner.split('name="', 1)[1].split('"', 1)[0] if 'name="' in inner else "an op"
        text = text[:start] + name + text[end:]
    return text


def one_line(e: BaseException, limit: int = 300) -> str:
    """A TVM or onnxscript exception as one line: the last line that says what failed, never a trace."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    frames = ("File ", "at ", "Traceback", "^", "~", "#", "[bt]")
    useful = [ln for ln in lines if not ln.startswith(frames) and not ln.split(":")[0].isdigit()]
    text = " ".join(_short_reprs((useful or lines or [type(e).__name__])[-1]).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
