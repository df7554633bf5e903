"""Accuracy of pruned CLIPs: the built-in offline benchmark and real evaluators (image folder, CSV retrieval)."""

from .api import evaluate, map_config, recovery_steps
from .metrics import chance_recall, retrieval_recall, zero_shot_accuracy
from .real import CSVRetrieval, ImageFolderZeroShot, load_checkpoint, load_open_clip

__all__ = ["CSVRetrieval", "ImageFolderZeroShot", "chance_recall", "evaluate", "load_checkpoint", "load_open_clip",
           "map_config", "recovery_steps", "retrieval_recall", "zero_shot_accuracy"]
