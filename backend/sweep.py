"""Fast path for the search: latency, energy and area of one or more graphs on many hardware configurations.

Configurations are grouped by their structure (``HwConsts.structure``: everything that fixes the mapper's candidate
tables); within a group, numbers that only scale costs (PE array shape, bandwidths, energies, clock, lanes) vary.
Each group runs the mapper's own exact search (``mapper.search``) and the same vector equation
(``vector.vector_cost``) vectorised across its configurations, so results equal ``estimate()`` per configuration
by construction (tests check it anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

import ir

from .contraction import as_gemm
from .cost import Ports
from .costs import HwConsts, consts_of
from .errors import BackendError
from .estimate import fusable_inputs, tensor_homes
from .hardware import Hardware, area_parts
from .mapper import TARGETS, search
from .vector import is_free_view, movement, vector_cost


@dataclass
class SweepResult:
    latency_s: np.ndarray
    energy_j: np.ndarray
    area_mm2: np.ndarray
    feasible: np.ndarray
    leakage_power_w: np.ndarray
    peak_tops: np.ndarray


def _group(graphs: Sequence[ir.Graph], hws: Sequence[Hardware], cs: Sequence[HwConsts], target: str):
    """Latency (s) and energy (J) of the graphs on configurations of one structure."""
    c = cs[0]
    ports = Ports.of(cs)
    n = len(cs)
    cycles = np.zeros(n)
    energy = np.zeros(n)
    vu = hws[0].vector_unit
    for graph in graphs:
        homes = tensor_homes(graph, c)
        fused = fusable_inputs(graph)
        for op, k in graph.weighted_ops():
            loc = tuple("local" if (op.name, a.tensor) in fused else homes[a.tensor] for a in op.inputs)
            if ir.is_contraction(op):
                res = (loc[0] in ("glb", "local"), loc[1] in ("glb", "local"), homes[op.output.tensor] == "glb")
                best = search(as_gemm(op), cs, res, target, ports=ports)
                cy, en = best.cycles, best.energy
            elif op.kind.category == "movement":
                t = graph.tensors[op.output.tensor]
                src, dst = (loc[0] if loc else "dram"), homes[op.output.tensor]
                if is_free_view(op.kind.value, src, dst):
                    continue
                reads, write = movement(op.kind.value, t.numel * c.bits_a, src, dst)
                cy, en = vector_cost(ports, c, 0, 0.0, reads, write, stream=False)
            else:
                reads = [(graph.tensors[a.tensor].numel * c.bits_a, h) for a, h in zip(op.inputs, loc)]
                write = (graph.tensors[op.output.tensor].numel * c.bits_a, homes[op.output.tensor])
                fn = op.fn or op.kind.value
                cy, en = vector_cost(ports, c, op.iterations, vu.cycles(fn), reads, write)
            cycles += k * np.reshape(cy, -1)
            energy += k * np.reshape(en, -1)
    return cycles / ports.clock_hz.reshape(-1), energy


def sweep(graphs: ir.Graph | Iterable[ir.Graph], hardware: Sequence[Hardware], target: str = "edp") -> SweepResult:
    """Per-configuration latency_s, energy_j (leakage included; graphs summed, e.g. both CLIP towers), area_mm2."""
    if target not in TARGETS:
        raise BackendError(f"unknown target {target!r} (allowed: {', '.join(TARGETS)})")
    gs = [graphs] if isinstance(graphs, ir.Graph) else list(graphs)
    hws = list(hardware)
    n = len(hws)
    areas = [area_parts(h) for h in hws]
    cs = [consts_of(h, a) for h, a in zip(hws, areas)]
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cs):
        key = c.structure() + (tuple(sorted(hws[i].vector_unit.cycles_per_element.items())),)
        groups.setdefault(key, []).append(i)
    lat = np.zeros(n)
    en = np.zeros(n)
    for idx in groups.values():
        lat[idx], en[idx] = _group(gs, [hws[i] for i in idx], [cs[i] for i in idx], target)
    feasible = np.isfinite(lat)
    return SweepResult(latency_s=np.where(feasible, lat, math.inf), energy_j=np.where(feasible, en, math.inf),
                       area_mm2=np.array([sum(a.values()) for a in areas]), feasible=feasible,
                       leakage_power_w=np.array([c.leak_w for c in cs]),
                       peak_tops=np.array([h.peak_tops for h in hws]))
