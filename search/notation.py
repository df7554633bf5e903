"""A compact notation for design configurations, e.g. ``c1 256x8 L64K/128 G2M | T6/1024/512/6 V8/1920/672/6``.

Hardware first (cores, PE array, local buffer size/bandwidth, global buffer, then any other hardware knob), then
the schedule, then per CLIP tower layers/FFN/width/heads. ``legend`` explains the tokens a set of designs uses.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

TOWERS = (("text", "T"), ("vision", "V"))
TOWER_FIELDS = ("layers", "ffn", "width", "heads")

# token name -> legend text, in the order tokens are written
LEGEND = {
    "c": "cN: N cores",
    "RxC": "RxC: PE rows x columns",
    "L": "L: local buffer K(B)/M(B) / bandwidth [words/cycle]",
    "G": "G: global buffer M(B) [/ bandwidth, words/cycle]",
    "v": "vN: vector lanes",
    "MHz": "clock",
    "nm": "technology node",
    "D": "D: DRAM kind:capacity [/ bandwidth, words/cycle]",
    "df": "df: dataflow",
    "m": "m: mapper target",
    "fuse": "fuse/nofuse: epilogue fusion",
    "T": "T/V: text/vision tower layers/FFN/width/heads",
    "k=v": "other knobs as name=value",
}


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _size_kb(kb: Any) -> str:
    kb = float(kb)
    return f"{kb / 1024:g}M" if kb >= 1024 and kb % 1024 == 0 else f"{kb:g}K"


def _pair(cfg: Mapping[str, Any], a: str, b: str, sep: str) -> str:
    return f"{_num(cfg.get(a, '?'))}{sep}{_num(cfg.get(b, '?'))}"


def tokens(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(legend key, token) pairs of one configuration, hardware then schedule then model."""
    c, out, used = dict(cfg), [], set()

    def take(key: str, text: str, *names: str) -> None:
        out.append((key, text))
        used.update(names)

    if "cores" in c:
        take("c", f"c{_num(c['cores'])}", "cores")
    if "pe_rows" in c or "pe_cols" in c:
        take("RxC", _pair(c, "pe_rows", "pe_cols", "x"), "pe_rows", "pe_cols")
    if "local_buffer_kb" in c or "local_bw_words_per_cycle" in c:
        size = _size_kb(c["local_buffer_kb"]) if "local_buffer_kb" in c else "?"
        bw = f"/{_num(c['local_bw_words_per_cycle'])}" if "local_bw_words_per_cycle" in c else ""
        take("L", f"L{size}{bw}", "local_buffer_kb", "local_bw_words_per_cycle")
    if "global_buffer_mb" in c or "global_bw_words_per_cycle" in c:
        size = f"{_num(c['global_buffer_mb'])}M" if "global_buffer_mb" in c else "?"
        bw = f"/{_num(c['global_bw_words_per_cycle'])}" if "global_bw_words_per_cycle" in c else ""
        take("G", f"G{size}{bw}", "global_buffer_mb", "global_bw_words_per_cycle")
    if "vector_lanes" in c:
        take("v", f"v{_num(c['vector_lanes'])}", "vector_lanes")
    if "clock_hz" in c:
        take("MHz", f"{float(c['clock_hz']) / 1e6:g}MHz", "clock_hz")
    if "node_nm" in c:
        take("nm", f"{_num(c['node_nm'])}nm", "node_nm")
    if {"dram_kind", "dram_gb", "dram_bw_words_per_cycle"} & set(c):
        bw = f"/{_num(c['dram_bw_words_per_cycle'])}" if "dram_bw_words_per_cycle" in c else ""
        take("D", f"D{c.get('dram_kind', '')}:{_num(c.get('dram_gb', '?'))}G{bw}", "dram_kind", "dram_gb",
             "dram_bw_words_per_cycle")
    if "dataflow" in c:
        take("df", f"df:{c['dataflow']}", "dataflow")
    if "mapper" in c:
        take("m", f"m:{c['mapper']}", "mapper")
    if "fusion" in c:
        take("fuse", "fuse" if c["fusion"] else "nofuse", "fusion")
    model = []
    for tower, letter in TOWERS:
        names = [f"{tower}_{f}" for f in TOWER_FIELDS]
        if any(n in c for n in names):
            model.append(("T", letter + "/".join(_num(c.get(n, "?")) for n in names)))
            used.update(names)
    rest = [("k=v", f"{k}={_num(v)}") for k, v in c.items() if k not in used]
    if model and out:
        out.append(("|", "|"))
    return out + model + rest


def short(cfg: Mapping[str, Any]) -> str:
    """The configuration in compact notation (see the module docstring)."""
    return " ".join(t for _, t in tokens(cfg))


def legend(configs: Iterable[Mapping[str, Any]]) -> str:
    """The legend of the tokens that ``configs`` use, in writing order, separated by ' · '."""
    keys = {k for cfg in configs for k, _ in tokens(cfg)}
    return " · ".join(text for k, text in LEGEND.items() if k in keys)
