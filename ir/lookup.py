"""Finding ops by the names people type: the printed op name, the model's source name, or a unique substring."""

from __future__ import annotations

import difflib
import re

from .analysis import is_contraction
from .errors import OpLookupError
from .graph import Graph, Op


def _parts(graph: Graph) -> set[str]:
    """Names under which this graph's ops may be printed with a prefix (``image`` in ``image.matmul_4``)."""
    parts = {str(p) for p in graph.meta.get("parts", [])}
    if graph.meta.get("tower"):
        parts.add(str(graph.meta["tower"]))
    if "." in graph.name:
        parts.add(graph.name.rsplit(".", 1)[1])
    return parts


def _source_matches(source: str, query: str) -> bool:
    """A source pattern (``resblocks.*.mlp``) matches the pattern itself or any instance (``resblocks.3.mlp``);
    ``*`` stands for part of one dotted component."""
    if not source or source == query:
        return bool(source)
    return "*" in source and re.fullmatch(re.escape(source).replace(r"\*", r"[^.]*"), query) is not None


def find_ops(graph: Graph, query: str) -> list[Op]:
    """The ops ``query`` names, most specific rule first: an op name; an op name printed with a tower prefix
    (``image.matmul_4``) or without its merged-graph prefix (``matmul_4``); a source name, or an instance of a
    repeated block's source pattern (a module's contractions when it has any: ``mlp.c_fc`` is its matmul, not
    the bias add); a case-insensitive substring of names and sources. Empty when none fits."""
    q = query.strip()
    by_name = {o.name: o for o in graph.ops}
    if q in by_name:
        return [by_name[q]]
    prefix, _, rest = q.partition(".")
    if rest in by_name and prefix in _parts(graph):
        return [by_name[rest]]
    found = [o for o in graph.ops if o.name.endswith("." + q)]
    if found:
        return found
    found = [o for o in graph.ops if _source_matches(o.source, q)]
    if found:
        return [o for o in found if is_contraction(o)] or found
    return [o for o in graph.ops if q.lower() in o.name.lower() or q.lower() in o.source.lower()]


def closest_ops(graph: Graph, query: str, n: int = 5) -> list[str]:
    """Up to ``n`` op names whose name or source reads most like ``query`` (a source stands for its contraction
    when it has one; layer numbers in the query match a block's ``*``)."""
    names: dict[str, str] = {}
    for o in graph.ops:
        names.setdefault(o.name, o.name)
        if o.source and (o.source not in names or is_contraction(o) and not is_contraction(graph.op(names[o.source]))):
            names[o.source] = o.name
    pattern = ".".join("*" if part.isdigit() else part for part in query.split("."))
    close = difflib.get_close_matches(query, list(names), n=3 * n, cutoff=0.4)
    close += difflib.get_close_matches(pattern, list(names), n=3 * n, cutoff=0.4)
    return list(dict.fromkeys(names[c] for c in close))[:n]


def describe(op: Op) -> str:
    """``name (kind fn, source)`` for lists of candidates."""
    what = f"{op.kind.value} {op.fn}".strip()
    return f"{op.name} ({what}{', ' + op.source if op.source else ''})"


def find_op(graph: Graph, query: str) -> Op:
    """The one op ``query`` names (see ``find_ops``); ``OpLookupError`` lists the candidates when several match
    and the closest names when none does."""
    found = find_ops(graph, query)
    if len(found) == 1:
        return found[0]
    if found:
        shown = "; ".join(describe(o) for o in found[:20]) + (f"; ... ({len(found)} in all)" if len(found) > 20 else "")
        raise OpLookupError(f"{query!r} matches {len(found)} ops in {graph.name}: {shown}; give one of these names")
    close = [describe(graph.op(c)) for c in closest_ops(graph, query)]
    prefix = query.partition(".")[0]
    hint = ""
    if "." in query and prefix in ("image", "text") and prefix not in _parts(graph):
        hint = f"; {prefix!r} names a tower this graph does not hold (use --tower {prefix} or --tower both)"
    raise OpLookupError(f"no op named {query!r} in {graph.name}, nor one whose source or name contains it"
                        f"{'; closest: ' + ', '.join(close) if close else ''}{hint}")
