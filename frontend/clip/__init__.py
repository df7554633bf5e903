"""CLIP structured pruning: configurations and their legal space, importance rankings, weight slicing, counts."""

from .arch import Arch, check_supported
from .attention import HeadAttention
from .config import CLIPConfig, Range, SearchSpace, TowerConfig, TowerSpace, default_space
from .counts import macs, params, text_macs, text_params, vision_macs, vision_params
from .errors import CheckpointError, ConfigError, DatasetError, ModelError, PruneError
from .lower import LAYER_BLOCK, lower_fresh, lower_tower, with_depth
from .parametric import TowerTemplate, template
from .prune import prune
from .ranking import Ranking, TowerRanking, middle_order

__all__ = [
    "Arch", "CLIPConfig", "CheckpointError", "ConfigError", "DatasetError", "HeadAttention", "LAYER_BLOCK",
    "ModelError", "PruneError", "Range", "Ranking", "SearchSpace", "TowerConfig", "TowerRanking", "TowerSpace",
    "TowerTemplate", "check_supported", "default_space", "lower_fresh", "lower_tower", "macs", "middle_order",
    "params", "prune", "template", "text_macs", "text_params", "vision_macs", "vision_params", "with_depth",
]
