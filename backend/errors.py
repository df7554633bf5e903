"""Typed errors of the backend: bad hardware descriptions, bad technology data, ops it cannot map."""

from ir.errors import CatxError


class BackendError(CatxError):
    """Base class for backend errors."""


class HardwareError(BackendError):
    """A hardware description is invalid (names the file and field, and what is allowed)."""


class TechDataError(BackendError):
    """A technology data file or override is malformed or lacks an entry (names file and key)."""


class MappingError(BackendError):
    """An operator cannot be mapped onto the hardware (names the op and why)."""
