"""Carbon constants read from ``backend/data/carbon/*.yaml``: each with value, low, high, unit and source."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ir.files import load_yaml

from .errors import CarbonDataError

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "carbon"
TABLE_FILES = ("logic", "dram", "grid", "packaging", "operation")
_LEAF_KEYS = {"value", "low", "high", "unit", "source", "range_source", "description", "note"}


@dataclass(frozen=True)
class Constant:
    """One sourced number. ``name`` is unique across the data files, e.g. ``logic.epa[22]``."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    source: str
    range_source: str = ""
    description: str = ""

    @property
    def uncertain(self) -> bool:
        return self.high > self.low

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "low": self.low, "high": self.high, "unit": self.unit,
                "source": self.source, "range_source": self.range_source}


def _number(raw: Any, where: str, key: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise CarbonDataError(f"{where}: '{key}' must be a finite number, got {raw!r}")
    return float(raw)


def make_constant(name: str, raw: dict[str, Any], where: str, defaults: dict[str, Any] | None = None) -> Constant:
    """Build a Constant from a YAML mapping, inheriting unit/source/range_source from ``defaults``."""
    if not isinstance(raw, dict) or "value" not in raw:
        raise CarbonDataError(f"{where}: constant {name!r} must be a mapping with a 'value'")
    extra = set(raw) - _LEAF_KEYS
    if extra:
        raise CarbonDataError(f"{where}: constant {name!r} has unknown keys {sorted(extra)}; "
                              f"allowed: {sorted(_LEAF_KEYS)}")
    d = {**(defaults or {}), **raw}
    value = _number(d["value"], where, f"{name}.value")
    low = _number(d.get("low", value), where, f"{name}.low")
    high = _number(d.get("high", value), where, f"{name}.high")
    if not low <= value <= high:
        raise CarbonDataError(f"{where}: constant {name!r} needs low <= value <= high, got {low}, {value}, {high}")
    for key in ("unit", "source"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            raise CarbonDataError(f"{where}: constant {name!r} has no {key}; every constant needs a unit and a source")
    return Constant(name, value, low, high, d["unit"], d["source"], str(d.get("range_source", "")),
                    str(d.get("description", "")))


def parse_tables(doc: Any, stem: str, where: str) -> dict[str, dict[str, Constant]]:
    """A data file's tables: ``{table: {key: Constant}}``; ``scalars`` holds single constants keyed by name."""
    if not isinstance(doc, dict):
        raise CarbonDataError(f"{where}: expected a mapping of tables at the top level")
    out: dict[str, dict[str, Constant]] = {}
    for table, body in doc.items():
        if not isinstance(body, dict):
            raise CarbonDataError(f"{where}: table {table!r} must be a mapping")
        if table == "scalars":
            out[table] = {str(k): make_constant(f"{stem}.{k}", v, where) for k, v in body.items()}
            continue
        entries = body.get("entries")
        if not isinstance(entries, dict) or not entries:
            raise CarbonDataError(f"{where}: table {table!r} needs a non-empty 'entries' mapping")
        defaults = {k: body[k] for k in ("unit", "source", "range_source", "description") if k in body}
        out[table] = {str(k): make_constant(f"{stem}.{table}[{k}]", v, where, defaults) for k, v in entries.items()}
    return out


@functools.lru_cache(maxsize=None)
def load_file(stem: str) -> dict[str, dict[str, Constant]]:
    path = DATA_DIR / f"{stem}.yaml"
    doc = load_yaml(path, "carbon data file", CarbonDataError)
    return parse_tables(doc, stem, str(path))


def all_constants() -> list[Constant]:
    """Every constant in every carbon data file."""
    return [c for stem in TABLE_FILES for table in load_file(stem).values() for c in table.values()]


def table(stem: str, name: str) -> dict[str, Constant]:
    tables = load_file(stem)
    if name not in tables:
        raise CarbonDataError(f"{DATA_DIR / (stem + '.yaml')}: no table {name!r}; has {sorted(tables)}")
    return tables[name]


def lookup(stem: str, name: str, key: str | int, field: str = "") -> Constant:
    """The constant ``key`` of table ``name`` in ``stem.yaml``; a clear error listing the keys that exist."""
    entries = table(stem, name)
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    k = str(key).lower()
    if k not in entries:
        what = f" (from {field})" if field else ""
        raise CarbonDataError(f"{DATA_DIR / (stem + '.yaml')}: table {name!r} has no entry {key!r}{what}; "
                              f"allowed: {', '.join(sorted(entries, key=_sort_key))}")
    return entries[k]


def scalar(stem: str, name: str) -> Constant:
    return lookup(stem, "scalars", name)


def keys(stem: str, name: str) -> list[str]:
    return sorted(table(stem, name), key=_sort_key)


def _sort_key(k: str) -> tuple[int, float, str]:
    try:
        return (0, float(k), "")
    except ValueError:
        return (1, 0.0, k)
