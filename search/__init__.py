"""The outer loop: design spaces, objectives, SMAC studies, parallel trials, results, reports and the CLI."""

from .engine import hypervolumes, run
from .errors import EvaluationError, SearchError, StoreError, StudyError
from .results import Study
from .study import StudySpec, load, presets

__all__ = ["EvaluationError", "SearchError", "StoreError", "Study", "StudyError", "StudySpec", "hypervolumes",
           "load", "presets", "run"]
