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


def describe_validation_error(e) -> str:
    """One line per pydantic error: ``dotted.field: what is wrong`` (with the rejected value where it helps)."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = f"{msg}; got {err.get('input')!r}"
        elif err["type"] == "extra_forbidden":
            msg = f"{msg} (unknown field)"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)
