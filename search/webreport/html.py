"""Small HTML builders for the report page: escaping, tables, nested key/value tables, disclosure blocks."""

from __future__ import annotations

import html
import math
from typing import Any, Iterable, Mapping, Sequence


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(v: Any, digits: int = 4) -> str:
    """A number for a table cell (4 significant digits, thousands separators for large integers)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return esc(v)
    if isinstance(v, int) and abs(v) >= 10_000:
        return f"{v:,}"
    if isinstance(v, float) and not math.isfinite(v):
        return esc(v)
    return f"{v:.{digits}g}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", numeric: Sequence[bool] = (),
          raw: bool = False) -> str:
    """A table; ``headers`` and (unless ``raw``) cells are escaped; ``numeric`` right-aligns columns."""
    right = list(numeric) + [False] * (len(headers) - len(numeric))
    th = "".join(f'<th{" class=n" if r else ""}>{esc(h)}</th>' for h, r in zip(headers, right))
    body = []
    for row in rows:
        cells = (c if raw else esc(c) for c in row)
        body.append("<tr>" + "".join(f'<td{" class=n" if r else ""}>{c}</td>' for c, r in zip(cells, right))
                    + "</tr>")
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>'


INLINE = 8          # a mapping of at most this many scalars is written on one line


def kv(value: Any, depth: int = 0) -> str:
    """Any JSON-like value as nested key/value tables (schedules, study definitions), generic over their keys."""
    if isinstance(value, Mapping):
        if not value:
            return "<i>none</i>"
        if len(value) <= INLINE and all(not isinstance(v, (Mapping, list, tuple)) for v in value.values()):
            return "<span class=inl>" + " · ".join(f"<b>{esc(k)}</b> {esc(_scalar(v))}" for k, v in value.items()) \
                + "</span>"
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{kv(v, depth + 1)}</td></tr>" for k, v in value.items())
        return f'<table class="kv">{rows}</table>'
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            return esc(", ".join(_scalar(v) for v in value)) if value else "<i>none</i>"
        return "<ol>" + "".join(f"<li>{kv(v, depth + 1)}</li>" for v in value) + "</ol>"
    return esc(_scalar(value))


def _scalar(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10_000:
        return f"{v:,}"
    return str(v)


def details(summary: str, body: str, cls: str = "", open_: bool = False) -> str:
    """A native disclosure block; ``summary`` and ``body`` are HTML."""
    return (f'<details class="{cls}"{" open" if open_ else ""}><summary>{summary}</summary>{body}</details>')
