"""The outer loop: design spaces, objectives, SMAC studies, parallel trials, results, reports and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import EvaluationError, SearchError, StoreError, StudyError
from .study import StudySpec, load, presets

if TYPE_CHECKING:
    from .engine import hypervolumes, run
    from .results import Study

_LAZY = {"run": "engine", "hypervolumes": "engine", "Study": "results"}   # keep `catx --help` free of SMAC


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'search' has no attribute {name!r}")


__all__ = ["EvaluationError", "SearchError", "StoreError", "Study", "StudyError", "StudySpec", "hypervolumes",
           "load", "presets", "run"]
