"""Text renderings of schedules: a one-line summary per op and the loop nests of a GEMM schedule, level by level."""

from __future__ import annotations

from typing import Any


def summary(s: dict[str, Any]) -> str:
    """One line: dataflow, core split, per-PE reuse, innermost tiled level's tile and order, bound, utilisation."""
    if s.get("infeasible"):
        return f"INFEASIBLE: {s['infeasible']}"
    if s.get("unit") == "attention":
        if s["fused"]:
            return (f"fused attention: blocks {s['block_q']}q x {s['block_kv']}kv on {s['level']}, "
                    f"{s['dataflow_qk'].upper()}/{s['dataflow_pv'].upper()} | {s['bound']}-bound")
        why = "no block fits" if s.get("fallback") else "unfused"
        return f"attention run unfused ({why}): {len(s['ops'])} ops"
    if "dataflow" in s:
        tiled = [lv for lv in s["levels"] if "tile" in lv]
        inner = tiled[0] if tiled else None
        pe = ""
        if s.get("per_pe"):
            ex = s["per_pe"]["expansion"]
            pe = " PE " + "x".join(f"{d}{v}" for d, v in ex.items()) + (" db" if s["per_pe"]["double_buffered"] else "")
        lvl = ""
        if inner is not None:
            tile = "x".join(f"{d}{inner['tile'][d]}" for d in ("m", "k", "n"))
            lvl = (f" {inner['name']} {tile} {''.join(inner['loop_order'])}"
                   f"{' db' if inner['double_buffered'] else ''}")
        epi = f" +{'+'.join(s['epilogue'])}" if s.get("epilogue") else ""
        return (f"{s['dataflow'].upper()} cores<-{s['spatial']['cores']}{pe}{lvl}{epi} | {s['bound']}-bound, "
                f"util {s['utilisation']:.0%}")
    if s.get("view"):
        return "free view"
    if s.get("unit") == "dma":
        return f"DMA copy, {s['bound']}-bound"
    fused = " (fused input)" if s.get("fused_inputs") else ""
    return (f"vector {s.get('fn', '')}: {s['cycles_per_element']:g} cyc/elem on {s['lanes']} lanes{fused} | "
            f"{s['bound']}-bound")


def loop_nest(s: dict[str, Any]) -> list[str]:
    """The schedule as loop nests, outermost level first. Levels are tiled independently over the problem one
    instance serves, so each tiled level has its own nest (its parent -> it); the innermost body is the spatial
    unrolling onto cores and the PE array, with the per-PE level's reuse."""
    if s.get("unit") == "attention":
        if s["fused"]:
            return list(s["loop_nest"])
        return [summary(s)] + [f"  {o['kind']} {o['fn']}: {o['cycles']:,.0f} cycles, {o['bound']}-bound"
                               for o in s["ops"]]
    if "dataflow" not in s:
        return [summary(s)]
    tiled = [lv for lv in s["levels"] if "tile" in lv]
    res = [k for k, v in s["resident"].items() if v]
    lines = []
    for i, lv in enumerate(reversed(tiled)):
        p = lv["problem"]
        who = "per core" if lv["sharing"] == "per_core" else "chip"
        head = (f"# -> {lv['name']} ({who}, b={p['b']} m={p['m']} k={p['k']} n={p['n']}): tile {_tile(lv)}, "
                f"{'double' if lv['double_buffered'] else 'single'}-buffered; moves "
                f"{lv['traffic_bytes'] / 1e6:.3f} MB")
        if i == 0 and res:
            head += f"; resident: {', '.join(res)}"
        lines.append(head)
        innermost = i == len(tiled) - 1
        lines += _nest(lv, p["b"], str(len(tiled) - i), _body(s) if innermost else f"load {lv['name']} tile")
    if not tiled:
        lines.append(_body(s))
    return lines


def _body(s: dict[str, Any]) -> str:
    sp = s["spatial"]
    body = (f"parallel-for core in cores (split {sp['cores']}): systolic {s['dataflow'].upper()} "
            f"rows <- {sp['rows']}, cols <- {sp['cols']}, stream {sp['streamed']}")
    if s.get("per_pe"):
        ex = s["per_pe"]["expansion"]
        body += (f"; each PE keeps {' x '.join(f'{v} {d}' for d, v in ex.items())} stationary operands"
                 f"{' (two sets: loads hidden)' if s['per_pe']['double_buffered'] else ''}")
    return body


def _nest(level: dict[str, Any], batch: int, suffix: str, body: str) -> list[str]:
    lines, ind = [], ""
    if batch > 1:
        lines.append(f"for b{suffix} in range({batch}):")
        ind = "  "
    for d in level["loop_order"]:
        if level["trips"][d] > 1:
            lines.append(f"{ind}for {d}{suffix} in range({level['trips'][d]}):   # tile {d}={level['tile'][d]}")
            ind += "  "
    lines.append(f"{ind}{body}")
    return lines


def _tile(level: dict[str, Any]) -> str:
    return "x".join(f"{d}{level['tile'][d]}" for d in ("m", "k", "n"))
