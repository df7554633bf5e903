"""Typed errors of the model side: configurations, pruning, checkpoints and datasets."""

from ir.errors import CatxError


class ModelError(CatxError):
    """Base class for errors about a CLIP model, its configuration or its evaluation data."""


class ConfigError(ModelError):
    """A pruning configuration names an unknown field or a value outside the legal space."""


class PruneError(ModelError):
    """A model cannot be pruned (unsupported architecture, ranking that does not fit the model)."""


class CheckpointError(ModelError):
    """A checkpoint is missing, unreadable or does not match the architecture."""


class DatasetError(ModelError):
    """An evaluation dataset is missing, empty or malformed."""
