"""The CATransformers paper's published results (``search/data/paper.yaml``) and CATX studies set beside them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "paper.yaml"


@lru_cache(maxsize=1)
def results() -> dict[str, Any]:
    """The whole data file: ``hardware_only`` (Table 2), ``carbonclip`` (Table 3), ``findings``, ``presets``."""
    return yaml.safe_load(DATA.read_text())


def hardware_only(spec: str = "openclip:ViT-B-16") -> dict[str, Any] | None:
    """Table 2's row for a model spec (min-carbon and min-latency designs of a hardware-only search)."""
    return next((r for r in results()["hardware_only"]["rows"] if r.get("spec") == spec), None)


def hardware_knobs(values: list[int]) -> dict[str, int]:
    """A paper hardware tuple as CATX knob values."""
    return dict(zip(results()["hardware_fields"], values))


def tower_knobs(tower: str, values: list[int]) -> dict[str, int]:
    """A paper tower tuple (layers, FFN, width, heads) as CATX model knobs of ``tower`` (text or vision)."""
    return {f"{tower}_{k}": v for k, v in zip(results()["tower_fields"], values)}


def table_for(study_name: str) -> str | None:
    """Which paper table a study preset reproduces (``hardware_only`` or ``carbonclip``), or None."""
    return results()["presets"].get(study_name)


def direction_line(spec: str = "openclip:ViT-B-16") -> str:
    """The paper's min-carbon vs min-latency result for a model in one line, e.g. for a summary print-out."""
    r = hardware_only(spec)
    if r is None:
        return ""
    c, lat = r["min_carbon"], r["min_latency"]
    return (f"paper, {r['model']}: {c['carbon_kg']:g} vs {lat['carbon_kg']:g} kg, "
            f"{c['latency_s'] * 1e3:g} vs {lat['latency_s'] * 1e3:g} ms")
