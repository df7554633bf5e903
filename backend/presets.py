"""Named hardware presets (YAML under ``backend/data/presets``) and the CATransformers edge knob space."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any, Iterator

from .errors import HardwareError
from .hardware import Hardware

PRESET_DIR = Path(__file__).parent / "data" / "presets"

# CATransformers' hardware knobs (BRIEF §1): 3 x 4 x 6 x 5 x 3 x 3 = 3,240 configurations.
EDGE_SPACE: dict[str, tuple] = {
    "cores": (1, 2, 4),
    "pe_rows": (32, 64, 128, 256),
    "pe_cols": (2, 4, 8, 16, 32, 64),
    "local_buffer_kb": (64, 128, 256, 512, 1024),
    "local_bw_words_per_cycle": (32, 64, 128),
    "global_buffer_mb": (2, 4, 8),
}


def names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def get(name: str) -> Hardware:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise HardwareError(f"unknown hardware preset {name!r} (available: {', '.join(names())})")
    return Hardware.from_yaml(path)


def describe() -> list[tuple[str, str]]:
    """(name, one-line description) of every preset."""
    return [(n, get(n).description) for n in names()]


def resolve(spec: str) -> Hardware:
    """A preset name or a path to a hardware YAML file."""
    if spec in names():
        return get(spec)
    if spec.endswith((".yaml", ".yml")) or Path(spec).exists():
        return Hardware.from_yaml(spec)
    raise HardwareError(f"{spec!r} is neither a hardware preset ({', '.join(names())}) nor a YAML file")


def edge_hardware(**knobs: Any) -> Hardware:
    """The CATransformers edge template with knob values (cores, pe_rows, pe_cols, local_buffer_kb,
    local_bw_words_per_cycle, global_buffer_mb); vector lanes follow pe_rows unless ``vector_lanes`` is given."""
    base = get("catransformers-edge")
    if "pe_rows" in knobs and "vector_lanes" not in knobs:
        knobs = {**knobs, "vector_lanes": knobs["pe_rows"]}
    return base.with_knobs(**knobs) if knobs else base


def edge_space() -> Iterator[dict[str, Any]]:
    """Every knob dict of the edge space, in a fixed order."""
    keys = list(EDGE_SPACE)
    for vals in itertools.product(*EDGE_SPACE.values()):
        yield dict(zip(keys, vals))
