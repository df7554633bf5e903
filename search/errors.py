"""Typed errors of the search layer: invalid studies, unusable result stores, failed evaluations."""

from ir.errors import CatxError


class SearchError(CatxError):
    """Base class for search errors."""


class StudyError(SearchError):
    """A study definition is invalid; the message names the field at fault and what is allowed."""


class StoreError(SearchError):
    """A results store cannot be opened, or belongs to a different study than the one resumed."""


class EvaluationError(SearchError):
    """One trial could not be evaluated (recorded in the store with the message; the study goes on)."""


class ReportError(SearchError):
    """A report cannot be written (no study in the folder, an unwritable output path)."""
