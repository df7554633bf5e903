"""The hardware knob table: every named knob, where it lives in the description, and how to read and set it.

This is the one list of hardware knobs; studies, trial evaluation and the CLI derive theirs from it. Besides the
named knobs, any field is reachable by a dotted path into the description: ``memory.<level>.<field>``
(``memory.register_file.size_bytes``), ``tensor_unit.pe_rows``, ``dram.kind``. Level knobs address levels by role
(the innermost per-core level is the "local buffer", the innermost per-chip level the "global buffer"), so they
work on any hierarchy that has such a level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from .errors import HardwareError

if TYPE_CHECKING:
    from .hardware import Hardware


@dataclass(frozen=True)
class Knob:
    name: str
    path: tuple[str, ...]        # into the description; ("memory", "@per_core", field) addresses a level by role
    unit: str
    doc: str


KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob("cores", ("cores",), "", "tensor + vector core pairs"),
    Knob("pe_rows", ("tensor_unit", "pe_rows"), "PEs", "rows of each core's PE array"),
    Knob("pe_cols", ("tensor_unit", "pe_cols"), "PEs", "columns of each core's PE array"),
    Knob("local_buffer_kb", ("memory", "@per_core", "size_kb"), "KiB", "innermost per-core level, per instance"),
    Knob("local_bw_words_per_cycle", ("memory", "@per_core", "bw"), "words/cycle",
         "innermost per-core level's bandwidth (read and write ports alike)"),
    Knob("global_buffer_mb", ("memory", "@per_chip", "size_mb"), "MiB", "innermost per-chip level"),
    Knob("global_bw_words_per_cycle", ("memory", "@per_chip", "bw"), "words/cycle",
         "innermost per-chip level's bandwidth (read and write ports alike)"),
    Knob("register_file_bytes", ("memory", "@per_pe", "size_bytes"), "B", "per-PE level, per PE"),
    Knob("vector_lanes", ("vector_unit", "lanes"), "lanes", "vector lanes per core"),
    Knob("clock_hz", ("clock_hz",), "Hz", "clock frequency"),
    Knob("node_nm", ("node_nm",), "nm", "technology node"),
    Knob("dram_kind", ("dram", "kind"), "", "DRAM technology"),
    Knob("dram_gb", ("dram", "capacity_gb"), "GB", "DRAM capacity"),
    Knob("dram_bw_words_per_cycle", ("dram", "bw_words_per_cycle"), "words/cycle", "DRAM bandwidth"),
    Knob("kernel_launch_s", ("kernel_launch_s",), "s", "fixed time of every op with work (a GPU kernel launch)"),
    Knob("static_power_w", ("static_power_w",), "W", "measured static power (replaces the area-based leakage)"),
    Knob("conventions", ("conventions",), "", "cost conventions: catx or catransformers (reproduction only)"),
)}
NAMES: tuple[str, ...] = tuple(KNOBS)
SIZE_FIELDS = {"size_bytes": 1, "size_kb": 1024, "size_mb": 1024 * 1024}


def _level_index(doc: dict[str, Any], ref: str, knob: str) -> int:
    levels = doc["memory"]
    for i, lv in enumerate(levels):
        if (ref.startswith("@") and lv["sharing"] == ref[1:]) or lv["name"] == ref:
            return i
    have = ", ".join(f"{lv['name']} ({lv['sharing']})" for lv in levels)
    what = f"a {ref[1:].replace('_', '-')} memory level" if ref.startswith("@") else f"a memory level {ref!r}"
    raise HardwareError(f"knob {knob!r}: the hardware has no {what} (levels: {have})")


def _resolve(doc: dict[str, Any], name: str) -> tuple[str, ...]:
    if name in KNOBS:
        return KNOBS[name].path
    parts = tuple(name.split("."))
    if len(parts) >= 2 and parts[0] in doc:
        return parts
    raise HardwareError(f"unknown hardware knob {name!r} (allowed: {', '.join(NAMES)}, or a dotted path such as "
                        "memory.<level>.<field>, tensor_unit.pe_rows, dram.kind)")


def _set_level_field(lv: dict[str, Any], field: str, value: Any) -> None:
    if field == "bw":                               # both ports of the level
        if lv.get("bw_words_per_cycle") is not None:
            lv["bw_words_per_cycle"] = value
        else:
            lv["read_bw_words_per_cycle"] = lv["write_bw_words_per_cycle"] = value
    elif field in SIZE_FIELDS:                      # one size field at a time
        for f in SIZE_FIELDS:
            lv.pop(f, None)
        lv[field] = value
    else:
        lv[field] = value


def _get_level_field(lv: dict[str, Any], field: str) -> Any:
    if field == "bw":
        return lv.get("bw_words_per_cycle") or lv.get("read_bw_words_per_cycle")
    if field in SIZE_FIELDS:
        for f, scale in SIZE_FIELDS.items():
            if lv.get(f) is not None:
                return lv[f] * scale / SIZE_FIELDS[field]
    return lv.get(field)


def _walk(doc: dict[str, Any], path: tuple[str, ...], name: str) -> tuple[dict[str, Any], str]:
    """The mapping that holds the last path element, and that element (levels resolved)."""
    if path[0] == "memory":
        if len(path) != 3:
            raise HardwareError(f"knob {name!r}: a level knob is memory.<level>.<field>")
        return doc["memory"][_level_index(doc, path[1], name)], path[2]
    node = doc
    for p in path[:-1]:
        if not isinstance(node.get(p), dict):
            raise HardwareError(f"knob {name!r}: the hardware description has no section {p!r}")
        node = node[p]
    return node, path[-1]


def apply_knobs(hw: "Hardware", knobs: Mapping[str, Any]) -> "Hardware":
    """``hw`` with knob values set (validated as a whole; errors name the knob)."""
    from .hardware import Hardware
    doc = hw.model_dump(mode="json")
    for name, value in knobs.items():
        if name == "name":
            doc["name"] = value
            continue
        node, field = _walk(doc, _resolve(doc, name), name)
        if node is not doc and "sharing" in node:
            _set_level_field(node, field, value)
        else:
            node[field] = value
    shown = {k: v for k, v in knobs.items() if k != "name"}
    return Hardware.from_dict(doc, f"{hw.name} with {shown}")


def knob_value(hw: "Hardware", name: str, doc: dict[str, Any] | None = None) -> Any:
    """The current value of a knob (None when the hardware has no such level)."""
    doc = doc if doc is not None else hw.model_dump(mode="json")
    try:
        node, field = _walk(doc, _resolve(doc, name), name)
    except HardwareError:
        return None
    if "sharing" in node:
        return _get_level_field(node, field)
    return node.get(field)


def knob_values(hw: "Hardware") -> dict[str, Any]:
    """Every named knob's value on ``hw`` (what an unsearched knob keeps)."""
    doc = hw.model_dump(mode="json")
    return {n: knob_value(hw, n, doc) for n in NAMES}
