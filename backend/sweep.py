"""Fast path for the search: latency, energy and area of one or more graphs on many hardware configurations.

Configurations are grouped by their structure (``HwConsts.structure``: everything that fixes the mapper's candidate
tables); within a group, numbers that only scale costs (PE array shape, bandwidths, energies, clock, lanes) vary, and
so does the resident share of the home level: an op runs once for all the configurations that place its tensors
alike. Each group runs the mapper's own exact search (``mapper.search``) and the same vector equation
(``vector.vector_cost``) vectorised across its configurations, so results equal ``estimate()`` per configuration
by construction (tests check it anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

import ir

from .attention import fused_cost
from .contraction import as_gemm
from .cost import Ports, leakage_j, objective
from .costs import HwConsts, consts_of
from .errors import BackendError
from .estimate import ATTENTION, epilogue_reads, fusable_inputs, tensor_homes, unfused_homes
from .hardware import Hardware, area_parts
from .mapper import TARGETS, search
from .vector import epilogue_cost, is_free_view, movement, vector_cost


@dataclass
class SweepResult:
    latency_s: np.ndarray
    energy_j: np.ndarray
    area_mm2: np.ndarray
    feasible: np.ndarray
    leakage_power_w: np.ndarray
    peak_tops: np.ndarray


def _op_arrays(op: ir.Op, graph: ir.Graph, cs: Sequence[HwConsts], ports: Ports, homes: dict, loc: tuple,
               target: str, vu, attention: str):
    """Cycles and energy of one op on every configuration (the same equations and search as ``estimate``),
    each op with work launched as one kernel."""
    cy, en, launched = _work(op, graph, cs, ports, homes, loc, target, vu, attention)
    c = cs[0]
    if launched and c.launch_cycles:
        cy = np.where(np.isfinite(cy), np.asarray(cy) + c.launch_cycles, cy)
        en = en + np.reshape(leakage_j(ports.leak_w, c.launch_cycles, ports.clock_hz), -1)
    return cy, en


def _work(op: ir.Op, graph: ir.Graph, cs: Sequence[HwConsts], ports: Ports, homes: dict, loc: tuple,
          target: str, vu, attention: str):
    """(cycles, energy, whether it is one kernel) of one op before its launch."""
    c = cs[0]
    out_home = homes[op.output.tensor]
    if op.kind == ir.OpKind.ATTENTION:
        fused = None
        if attention in ("best", "fused"):
            cy, en, _ = fused_cost(op, cs, ports, [*loc, out_home], target, vu.cycles("softmax"))
            fused = (cy, en)
            if (attention == "fused" and np.isfinite(cy).all()) or not op.attrs.get("unfused"):
                return cy, en, True
        sub = ir.unfused_graph(op)
        sub_homes = unfused_homes(op, sub, c, loc, out_home)
        cy_u, en_u = 0.0, 0.0
        for o in sub.ops:
            sub_loc = tuple(sub_homes[a.tensor] for a in o.inputs)
            a, b = _op_arrays(o, sub, cs, ports, sub_homes, sub_loc, target, vu, attention)
            cy_u, en_u = cy_u + a, en_u + b
        if fused is None:
            return cy_u, en_u, False
        launch = c.launch_cycles
        launch_j = np.reshape(leakage_j(ports.leak_w, launch, ports.clock_hz), -1)
        fused_l = (np.asarray(fused[0]) + launch, fused[1] + launch_j)
        use = objective(target, fused_l[0], fused_l[1]) <= objective(target, cy_u, en_u)
        if attention == "fused":
            use = np.isfinite(fused[0])
        return np.where(use, fused_l[0], cy_u), np.where(use, fused_l[1], en_u), False
    if ir.is_contraction(op):
        res = (loc[0] in ("glb", "local"), loc[1] in ("glb", "local"), out_home == "glb")
        best = search(as_gemm(op), cs, res, target, ports=ports)
        cy, en = best.cycles, best.energy
        if op.attrs.get("epilogue"):
            e_cy, e_en, _ = epilogue_cost(ports, c, op.attrs["epilogue"], epilogue_reads(op, graph, c, loc), vu.cycles)
            e_cy = np.reshape(np.broadcast_to(e_cy, np.shape(cy)), -1)
            total = np.maximum(cy, e_cy)
            en = en + np.reshape(e_en, -1) + np.reshape(leakage_j(ports.leak_w, total - cy, ports.clock_hz), -1)
            cy = total
        return cy, en, True
    if op.kind.category == "movement":
        t = graph.tensors[op.output.tensor]
        src = loc[0] if loc else "dram"
        if is_free_view(op.kind.value, src, out_home):
            return 0.0, 0.0, False
        reads, write = movement(op.kind.value, t.numel * c.bits_a, src, out_home)
        return (*vector_cost(ports, c, 0, 0.0, reads, write, stream=False), True)
    reads = [(graph.tensors[a.tensor].numel * c.bits_a, h) for a, h in zip(op.inputs, loc)]
    write = (graph.tensors[op.output.tensor].numel * c.bits_a, out_home)
    fn = op.fn or op.kind.value
    return (*vector_cost(ports, c, op.iterations, vu.cycles(fn), reads, write), True)


def _group(graphs: Sequence[ir.Graph], hws: Sequence[Hardware], cs: Sequence[HwConsts], target: str,
           attention: str):
    """Latency (s) and energy (J) of the graphs on configurations of one structure but for the resident share of
    the home level (which decides where activations live): each op runs once for all the configurations that
    agree on where its tensors live."""
    ports = Ports.of(cs)
    n = len(cs)
    cycles = np.zeros(n)
    energy = np.zeros(n)
    vu = hws[0].vector_unit
    shares: dict[float, list[int]] = {}
    for i, c in enumerate(cs):
        shares.setdefault(c.resident_bits, []).append(i)
    reps = [cs[idx[0]] for idx in shares.values()]
    views: dict[tuple[int, ...], tuple] = {}
    for graph in graphs:
        homes = [tensor_homes(graph, c) for c in reps]
        fused = fusable_inputs(graph)
        for op, k in graph.weighted_ops():
            for members, loc in _placements(op, fused, homes).items():
                if members not in views:
                    idx = np.sort(np.concatenate([shares[reps[m].resident_bits] for m in members]))
                    views[members] = (idx, [cs[i] for i in idx], ports if idx.size == n else ports.take(idx, 1))
                idx, sub, sub_ports = views[members]
                cy, en = _op_arrays(op, graph, sub, sub_ports, homes[members[0]], loc, target, vu, attention)
                cycles[idx] += k * np.reshape(cy, -1)
                energy[idx] += k * np.reshape(en, -1)
    return cycles / ports.clock_hz.reshape(-1), energy


def _placements(op: ir.Op, fused: set, homes: list[dict[str, str]]) -> dict[tuple[int, ...], tuple]:
    """The resident shares (positions in ``homes``) that place an op's inputs and output alike, with the inputs'
    places; a fused attention op stays per share (its intermediates are placed by each share's own rule)."""
    out: dict[tuple, list[int]] = {}
    for m, h in enumerate(homes):
        loc = tuple("local" if (op.name, a.tensor) in fused else h[a.tensor] for a in op.inputs)
        key = (m,) if op.kind == ir.OpKind.ATTENTION else ()
        out.setdefault(key + (loc, h[op.output.tensor]), []).append(m)
    return {tuple(ms): key[-2] for key, ms in out.items()}


def _groups(hws: Sequence[Hardware], cs: Sequence[HwConsts]) -> list[list[int]]:
    """Positions of the configurations that can be swept together: one structure and vector unit, any resident
    share of the home level (``_group`` places tensors per share)."""
    exact: dict[tuple, list[int]] = {}
    for i, c in enumerate(cs):
        exact.setdefault(c.structure() + (tuple(sorted(hws[i].vector_unit.cycles_per_element.items())),), []).append(i)
    merged: dict[tuple, list[int]] = {}
    for key, idx in exact.items():
        merged.setdefault(replace(cs[idx[0]], resident_bits=0.0).structure() + key[-1:], []).extend(idx)
    return [sorted(idx) for idx in merged.values()]


def sweep(graphs: ir.Graph | Iterable[ir.Graph], hardware: Sequence[Hardware], target: str = "edp",
          attention: str = "best") -> SweepResult:
    """Per-configuration latency_s, energy_j (leakage included; graphs summed, e.g. both CLIP towers), area_mm2;
    ``attention`` as in ``estimate``."""
    if target not in TARGETS:
        raise BackendError(f"unknown target {target!r} (allowed: {', '.join(TARGETS)})")
    if attention not in ATTENTION:
        raise BackendError(f"unknown attention mode {attention!r} (allowed: {', '.join(ATTENTION)})")
    gs = [graphs] if isinstance(graphs, ir.Graph) else list(graphs)
    hws = list(hardware)
    n = len(hws)
    areas = [area_parts(h) for h in hws]
    cs = [consts_of(h, a) for h, a in zip(hws, areas)]
    lat = np.zeros(n)
    en = np.zeros(n)
    for idx in _groups(hws, cs):
        lat[idx], en[idx] = _group(gs, [hws[i] for i in idx], [cs[i] for i in idx], target, attention)
    feasible = np.isfinite(lat)
    return SweepResult(latency_s=np.where(feasible, lat, math.inf), energy_j=np.where(feasible, en, math.inf),
                       area_mm2=np.array([sum(a.values()) for a in areas]), feasible=feasible,
                       leakage_power_w=np.array([c.leak_w for c in cs]),
                       peak_tops=np.array([h.peak_tops for h in hws]))
