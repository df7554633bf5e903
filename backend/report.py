"""Text renderings of schedules: a one-line summary per op and the full loop nest of a GEMM schedule."""

from __future__ import annotations

from typing import Any


def summary(s: dict[str, Any]) -> str:
    """One line: dataflow, core split, local tile and order, bound, utilisation."""
    if s.get("infeasible"):
        return f"INFEASIBLE: {s['infeasible']}"
    if "dataflow" in s:
        lt = s["local_buffer"]
        tile = "x".join(f"{d}{lt['tile'][d]}" for d in ("m", "k", "n"))
        order = "".join(lt["loop_order"])
        return (f"{s['dataflow'].upper()} cores<-{s['spatial']['cores']} L1 {tile} {order}"
                f"{' db' if lt['double_buffered'] else ''} | {s['bound']}-bound, util {s['utilisation']:.0%}")
    if s.get("view"):
        return "free view"
    if s.get("unit") == "dma":
        return f"DMA copy, {s['bound']}-bound"
    fused = " (fused input)" if s.get("fused_inputs") else ""
    return (f"vector {s.get('fn', '')}: {s['cycles_per_element']:g} cyc/elem on {s['lanes']} lanes{fused} | "
            f"{s['bound']}-bound")


def loop_nest(s: dict[str, Any]) -> list[str]:
    """The schedule as loop nests, outermost first. The mapper tiles each buffer level independently over the
    whole problem, so there are two nests: DRAM -> global buffer, and global buffer -> local buffer (per core),
    whose innermost body is the spatial unrolling onto cores and the PE array with its streamed dim."""
    if "dataflow" not in s:
        return [summary(s)]
    g, pc = s["gemm"], s["per_core"]
    gl, lt, sp = s["global_buffer"], s["local_buffer"], s["spatial"]
    res = [k for k, v in s["resident"].items() if v]
    lines = [f"# DRAM -> global buffer: tile {_tile(gl)}, {_buf(gl)}; resident in the global buffer: "
             f"{', '.join(res) or 'none'}; moves {gl['traffic_bytes'] / 1e6:.3f} MB"]
    lines += _nest(gl, g["b"], "2", "load global tile")
    lines.append(f"# global -> local buffer, per core (b={pc['b']} m={pc['m']} k={pc['k']} n={pc['n']}): tile "
                 f"{_tile(lt)}, {_buf(lt)}; moves {lt['traffic_bytes'] / 1e6:.3f} MB per core")
    body = (f"parallel-for core in cores (split {sp['cores']}): systolic {s['dataflow'].upper()} "
            f"rows <- {sp['rows']}, cols <- {sp['cols']}, stream {sp['streamed']}")
    lines += _nest(lt, pc["b"], "1", body)
    return lines


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


def _buf(level: dict[str, Any]) -> str:
    return "double-buffered" if level["double_buffered"] else "single-buffered"


def _tile(level: dict[str, Any]) -> str:
    return "x".join(f"{d}{level['tile'][d]}" for d in ("m", "k", "n"))
