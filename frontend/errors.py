"""Typed errors of the frontend: bad specs, unreadable model files, unsupported ops, unbound dimensions."""

from ir.errors import CatxError


class FrontendError(CatxError):
    """A model could not be turned into IR."""


class ModelSpecError(FrontendError):
    """A model spec names no known model (or its arguments are malformed)."""


class ModelFileError(FrontendError):
    """A model file is missing, corrupt or truncated."""


class UnsupportedOpError(FrontendError):
    """An operator has no rule and cannot be analysed as a loop nest; names the op type and node."""


class UnboundDimensionError(FrontendError):
    """A model input has a dynamic dimension the user did not bind; names the input and the binding option."""


class InvalidAttributeError(FrontendError):
    """An operator attribute is outside its allowed range (a Conv dilation of 0, ...); names node and attribute."""


class BindingError(FrontendError):
    """A ``--dim``/``--shape`` binding names no input or dimension of the model, or an invalid size; lists them."""
