"""Where model-side results live on disk (option, then ``CATX_CACHE``, then ~/.cache/catx) and their keys."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ir.errors import CatxError
from ir.files import load_json


def cache_root(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or os.environ.get("CATX_CACHE") or Path.home() / ".cache" / "catx").expanduser()


def digest(obj: Any) -> str:
    """Stable short hash of a JSON-able key (the full signature of a cached result)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_json(path: Path) -> Any | None:
    """The cached JSON value, or None when the file is missing or unreadable (a miss: computed again)."""
    try:
        return load_json(path, "cache file", expect=None)
    except CatxError:
        return None


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, sort_keys=True, indent=1))
    tmp.replace(path)
