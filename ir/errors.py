"""The root of CATX's typed errors; every package raises subclasses of ``CatxError``.

Lives in ``ir`` because ``ir`` is the one package every other layer may import.
"""


class CatxError(Exception):
    """Base class for every error CATX raises on purpose (bad input, unsupported model, ...)."""


class IRError(CatxError):
    """An IR graph or file is malformed."""


class IRValidationError(IRError):
    """A graph breaks an invariant; the message names the op, tensor and axis at fault."""


class IRFormatError(IRError):
    """A serialised IR document cannot be read (wrong format, version or field)."""


class OpLookupError(IRError):
    """A name given for an op matches none of the graph's ops, or several; lists the closest or all candidates."""
