"""Place independent graphs side by side in one graph (e.g. CLIP's image and text towers)."""

from __future__ import annotations

from dataclasses import replace

from . import facts
from .graph import Access, Block, Graph


def merge(name: str, parts: dict[str, Graph]) -> Graph:
    """One graph holding every part; each part's tensor, op and block names get the prefix ``<key>.``."""
    out = Graph(name, meta={"parts": list(parts)})
    for key, g in parts.items():
        def rn(n: str) -> str:
            return f"{key}.{n}"
        for t in g.tensors.values():
            out.tensors[rn(t.name)] = replace(t, name=rn(t.name), origin=tuple(rn(n) for n in t.origin))
        for o in g.ops:
            out.ops.append(replace(o, name=rn(o.name), inputs=[Access(rn(a.tensor), a.index) for a in o.inputs],
                                   output=Access(rn(o.output.tensor), o.output.index)))
        out.inputs += [rn(n) for n in g.inputs]
        out.outputs += [rn(n) for n in g.outputs]
        out.blocks += [Block(rn(b.name), tuple(rn(n) for n in b.ops), b.repeat,
                             {rn(k): tuple(rn(n) for n in v) for k, v in b.weights.items()}) for b in g.blocks]
        for k, v in g.meta.items():
            if k == facts.KEY:  # facts are keyed by tensor name: rename them with the tensors
                out.meta.setdefault(k, {}).update({rn(t): f for t, f in v.items()})
            else:
                out.meta.setdefault(k, v)
    return out
