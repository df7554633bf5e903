"""Scenario presets: the YAML files in ``backend/data/carbon/scenarios`` plus one per grid region.

A region preset (``california``, ``taiwan``, ``france``, ``british-columbia``, ...) is ``catx-default`` with that
region's use-phase grid.
"""

from __future__ import annotations

from pathlib import Path

from . import constants
from .errors import ScenarioError
from .scenario import Scenario

PRESET_DIR = constants.DATA_DIR / "scenarios"
REGION_BASE = "catx-default"


def file_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def region_presets() -> list[str]:
    return [r for r in constants.keys("grid", "g_per_kwh") if r not in file_presets()]


def names() -> list[str]:
    """Every preset name."""
    return file_presets() + region_presets()


def get(name: str) -> Scenario:
    """A preset by name; a clear error listing the presets otherwise."""
    key = name.lower()
    if key in file_presets():
        return Scenario.from_yaml(PRESET_DIR / f"{key}.yaml")
    if key in region_presets():
        base = Scenario.from_yaml(PRESET_DIR / f"{REGION_BASE}.yaml")
        return base.replace(**{"name": key, "description": f"{REGION_BASE} with the {key} grid",
                               "deployment.grid": {"region": key}})
    raise ScenarioError(f"unknown scenario preset {name!r}; presets: {', '.join(names())} (or give a YAML file)")


def load(spec: str | Path | Scenario) -> Scenario:
    """A Scenario from itself, a YAML path, or a preset name."""
    if isinstance(spec, Scenario):
        return spec
    p = Path(spec)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        return Scenario.from_yaml(p)
    return get(str(spec))
