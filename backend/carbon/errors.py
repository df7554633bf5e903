"""Typed errors of the carbon model: bad scenarios, bad traces, bad or missing constants."""

from ir.errors import CatxError


class CarbonError(CatxError):
    """Base class for carbon-model errors."""


class CarbonDataError(CarbonError):
    """A carbon data file is malformed, or a constant it should hold is missing (names file and key)."""


class ScenarioError(CarbonError):
    """A scenario is invalid (names the file and field, and what is allowed)."""


class TraceError(ScenarioError):
    """An hourly grid-intensity trace is malformed (gaps, wrong units, bad values; names file and line)."""
