"""The CATransformers paper's published results (``search/data/catransformers_paper.yaml``, the one place CATX
keeps them) in SI units, and which CATX study presets reproduce which of its tables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "catransformers_paper.yaml"
HARDWARE_FIELDS = ("cores", "pe_rows", "pe_cols", "local_buffer_kb", "local_bw_words_per_cycle", "global_buffer_mb")
TOWER_FIELDS = ("layers", "ffn", "width", "heads")
TITLES = {"hardware_only": "Table 2: hardware-only search, model fixed (min-carbon vs min-latency design)",
          "carbonclip": "Table 3: the CarbonCLIP family (joint model-hardware search) beside CLIP and TinyCLIP"}
# CATX study presets that reproduce a paper setting, and the table each is compared with
PRESET_TABLES = {**dict.fromkeys(("hardware-only", "flagship-hardware", "hw-carbon", "hw-latency", "hw-energy",
                                  "hw-carbon-latency"), "hardware_only"),
                 **dict.fromkeys(("carbon", "latency", "energy", "carbon-latency", "all", "joint", "joint-small",
                                  "flagship-joint"), "carbonclip")}


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    """The data file as written (latencies in ms)."""
    return yaml.safe_load(DATA.read_text())


def source() -> str:
    return data()["source"]


def model_name(spec: str) -> str | None:
    """The paper's name of a model spec (``openclip:ViT-B-16`` -> ``CLIP-B/16``), or None."""
    arch = spec.split(":", 1)[1] if spec.startswith("openclip:") else None
    return next((n for n, m in data()["models"].items() if arch and m.get("open_clip") == arch), None)


def hardware_only(spec: str = "openclip:ViT-B-16") -> dict[str, Any] | None:
    """Table 2's row for a model spec: its min-carbon and min-latency designs (kgCO2e, s), and the min-carbon
    hardware where Table 3 gives it."""
    name = model_name(spec)
    if name is None or name not in data()["table2"]:
        return None
    c_kg, c_ms, l_kg, l_ms = data()["table2"][name]
    t3 = data()["table3"].get(name)
    return {"model": name, "min_carbon": {"carbon_kg": c_kg, "latency_s": c_ms / 1e3},
            "min_latency": {"carbon_kg": l_kg, "latency_s": l_ms / 1e3},
            "min_carbon_hardware": t3[2] if t3 else None}


def carbonclip() -> list[dict[str, Any]]:
    """Table 3's rows: model, carbon_kg, latency_s, hardware, text and vision tuples, accuracy (fraction)."""
    acc = data().get("table3_accuracy", {})
    return [{"model": n, "carbon_kg": kg, "latency_s": ms / 1e3, "hardware": hw, "text": t, "vision": v,
             "accuracy": acc.get(n)} for n, (kg, ms, hw, t, v) in data()["table3"].items()]


def findings() -> list[dict[str, Any]]:
    return list(data().get("findings", []))


def hardware_knobs(values: list[int]) -> dict[str, int]:
    """A paper hardware tuple as CATX knob values."""
    return dict(zip(HARDWARE_FIELDS, values))


def tower_knobs(tower: str, values: list[int]) -> dict[str, int]:
    """A paper tower tuple (layers, FFN, width, heads) as CATX model knobs of ``tower`` (text or vision)."""
    return {f"{tower}_{k}": v for k, v in zip(TOWER_FIELDS, values)}


def table_for(study_name: str) -> str | None:
    """Which paper table a study preset reproduces (``hardware_only`` or ``carbonclip``), or None."""
    return PRESET_TABLES.get(study_name)


def direction_line(spec: str = "openclip:ViT-B-16") -> str:
    """The paper's min-carbon vs min-latency result for a model in one line, e.g. for a summary print-out."""
    r = hardware_only(spec)
    if r is None:
        return ""
    c, lat = r["min_carbon"], r["min_latency"]
    return (f"paper, {r['model']}: {c['carbon_kg']:g} vs {lat['carbon_kg']:g} kg, "
            f"{c['latency_s'] * 1e3:g} vs {lat['latency_s'] * 1e3:g} ms")
