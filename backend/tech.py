"""The technology library: MAC, register, SRAM, DRAM, vector-lane energy and area, and leakage, per node.

Numbers live in ``backend/data/tech/*.yaml`` (value, unit, low, high, source). Logic values are given at 45 nm and
scaled by node factors; SRAM area uses per-node bitcell areas. Users override any entry by dotted key, e.g.
``{"dram.pj_per_bit.LPDDR4": 6.0}`` or ``{"logic.mac_energy_pj.8": {"value": 0.25, "source": "my chip"}}``.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ir.files import load_yaml

from .errors import TechDataError

DATA_DIR = Path(__file__).parent / "data" / "tech"
FILES = ("logic", "sram", "dram", "scaling", "leakage")
NODES_NM = (28, 22, 16, 14, 7, 5, 3)
ENTRY_KEYS = {"value", "unit", "low", "high", "source", "note", "description"}   # what an entry may hold


@functools.lru_cache(maxsize=1)
def _base() -> dict[str, Any]:
    out = {}
    for name in FILES:
        out[name] = load_yaml(DATA_DIR / f"{name}.yaml", "technology data file", TechDataError)
    return out


def _is_entry(d: Any) -> bool:
    return isinstance(d, dict) and "value" in d


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any], source: str = "<overrides>") -> dict:
    """Return a copy of ``data`` with dotted-key overrides applied; unknown keys are errors."""
    out = copy.deepcopy(data)
    for key, val in overrides.items():
        parts = str(key).split(".")
        node = out
        for i, p in enumerate(parts[:-1]):
            if not isinstance(node, dict) or p not in node or _is_entry(node):
                raise TechDataError(f"{source}: override {key!r}: no entry {'.'.join(parts[:i + 1])!r} "
                                    f"(files: {', '.join(FILES)})")
            node = node[p]
        last = parts[-1]
        if not isinstance(node, dict) or last not in node or not _is_entry(node[last]):
            allowed = sorted(node) if isinstance(node, dict) else []
            raise TechDataError(f"{source}: override {key!r}: no entry {last!r} here (allowed: {allowed})")
        if isinstance(val, dict):
            if "value" not in val:
                raise TechDataError(f"{source}: override {key!r} must be a number or a mapping with 'value'")
            unknown = sorted(map(str, set(val) - ENTRY_KEYS))
            if unknown:
                raise TechDataError(f"{source}: override {key!r}: unknown keys {unknown} (allowed: "
                                    f"{', '.join(sorted(ENTRY_KEYS))})")
            node[last] = {**node[last], **val}
        else:
            node[last] = {**node[last], "value": val, "source": f"user override ({source})"}
        for field in ("value", "low", "high"):
            v = node[last].get(field, 0)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < math.inf:
                raise TechDataError(f"{source}: override {key!r}: {field} must be a finite number >= 0, got {v!r}")
    return out


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Read a YAML file of dotted-key overrides."""
    doc = load_yaml(path, "technology overrides file", TechDataError, expect=None)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise TechDataError(f"{path}: expected a mapping of dotted keys to values")
    return doc


@dataclass(frozen=True)
class Tech:
    """Technology constants resolved for one node (with overrides); all values SI (J, m2->mm2 noted, W)."""

    node_nm: int
    overrides_json: str = "{}"

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        return apply_overrides(_base(), json.loads(self.overrides_json))

    def _get(self, *path: str) -> float:
        node: Any = self.data
        for p in path:
            if not isinstance(node, dict) or p not in node:
                raise TechDataError(f"{DATA_DIR / (path[0] + '.yaml')}: missing entry {'.'.join(path[1:])!r}")
            node = node[p]
        if not _is_entry(node):
            raise TechDataError(f"{DATA_DIR / (path[0] + '.yaml')}: {'.'.join(path[1:])!r} has no 'value'")
        return float(node["value"])

    def _node(self, *path: str) -> float:
        return self._get(*path, str(self.node_nm))

    @functools.cached_property
    def energy_factor(self) -> float:
        return self._node("scaling", "energy_factor")

    @functools.cached_property
    def area_factor(self) -> float:
        return self._node("scaling", "area_factor")

    def _bits_key(self, table: str, bits: int) -> str:
        keys = sorted(int(k) for k in self.data["logic"][table])
        for k in keys:
            if bits <= k:
                return str(k)
        raise TechDataError(f"{DATA_DIR / 'logic.yaml'}: {table} has no entry for {bits}-bit operands "
                            f"(available: {keys})")

    def mac_energy_j(self, bits: int) -> float:
        return self._get("logic", "mac_energy_pj", self._bits_key("mac_energy_pj", bits)) * self.energy_factor * 1e-12

    def mac_area_mm2(self, bits: int) -> float:
        return self._get("logic", "mac_area_um2", self._bits_key("mac_area_um2", bits)) * self.area_factor * 1e-6

    def register_energy_j_per_bit(self) -> float:
        return self._get("logic", "register_energy_pj_per_bit") * self.energy_factor * 1e-12

    def register_area_mm2(self, capacity_bytes: float) -> float:
        """Area of a flip-flop register file of this capacity (no SRAM macro at a few words)."""
        return capacity_bytes * 8 * self._get("logic", "register_area_um2_per_bit") * self.area_factor * 1e-6

    def vector_lane_energy_j(self) -> float:
        return self._get("logic", "vector_lane_energy_pj_per_cycle") * self.energy_factor * 1e-12

    def vector_lane_area_mm2(self) -> float:
        return self._get("logic", "vector_lane_area_um2") * self.area_factor * 1e-6

    def sram_energy_j_per_bit(self, capacity_bytes: float, width_bits: float) -> float:
        """Energy of reading or writing one bit of an SRAM of this capacity and word width."""
        ref = self._get("sram", "energy_pj_per_bit_ref")
        cap_ratio = max(capacity_bytes, 1.0) / self._get("sram", "ref_capacity_bytes")
        width_ratio = self._get("sram", "ref_width_bits") / max(width_bits, 1.0)
        a, b = self._get("sram", "capacity_exponent"), self._get("sram", "width_exponent")
        e = ref * cap_ratio ** a * width_ratio ** b
        return e * self.energy_factor * 1e-12

    def sram_area_mm2(self, capacity_bytes: float) -> float:
        cell = self._node("sram", "bitcell_area_um2")
        return capacity_bytes * 8 * cell / self._get("sram", "array_efficiency") * 1e-6

    def dram_energy_j_per_bit(self, kind: str) -> float:
        return self._get("dram", "pj_per_bit", kind) * 1e-12

    def logic_leakage_w_per_mm2(self) -> float:
        return self._node("leakage", "logic_w_per_mm2")

    def sram_leakage_w_per_bit(self) -> float:
        return self._node("leakage", "sram_w_per_bit")

    def entries(self) -> list[dict[str, Any]]:
        """Every constant with its unit, range and source, for reports."""
        rows = []

        def walk(prefix: str, node: Any) -> None:
            if _is_entry(node):
                rows.append({"key": prefix, **{k: node.get(k) for k in ("value", "unit", "low", "high", "source")}})
            elif isinstance(node, dict):
                for k, v in node.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
        walk("", self.data)
        return rows


@functools.lru_cache(maxsize=256)
def tech_for(node_nm: int, overrides_json: str = "{}") -> Tech:
    t = Tech(node_nm, overrides_json)
    t.data  # validate overrides eagerly
    return t
