"""``estimate(graph, hardware)``: maps every op (once per distinct op, counted ``repeat`` times) and sums them."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import ir
from ir.repeats import signature as op_signature

from .attention import fused_cost, loop_nest
from .contraction import as_gemm
from .cost import Ports, leakage_j, objective
from .costs import DRAM, HwConsts, consts
from .errors import BackendError, MappingError
from .hardware import Hardware
from .mapper import TARGETS, OpCost, components, map_gemm
from .vector import describe, epilogue_cost, free_view, is_free_view, movement

ATTENTION = ("best", "fused", "unfused")     # how a fused attention op may run

_CACHE: dict[tuple, OpCost] = {}
_CACHE_MAX = 200_000


@dataclass
class OpRecord:
    name: str
    kind: str
    fn: str
    repeat: int
    macs: int
    cycles: float
    latency_s: float                       # one execution
    energy_j: float                        # one execution, leakage included
    energy_by_component_j: dict[str, float]
    schedule: dict[str, Any]
    feasible: bool = True


@dataclass
class Estimate:
    """Per-inference totals (every repeat counted) and per-op records for one graph on one hardware."""

    graph: str
    target: str
    latency_s: float
    energy_j: float
    energy_by_component_j: dict[str, float]
    leakage_power_w: float
    area_mm2: float
    area_by_component_mm2: dict[str, float]
    peak_tops: float
    macs: int
    hardware: Hardware
    ops: list[OpRecord] = field(default_factory=list)
    feasible: bool = True
    infeasible: list[str] = field(default_factory=list)

    @property
    def edp_js(self) -> float:
        return self.energy_j * self.latency_s

    @property
    def utilisation(self) -> float:
        """Achieved MAC throughput over peak."""
        if not self.latency_s or math.isinf(self.latency_s):
            return 0.0
        return 2 * self.macs / self.latency_s / (self.peak_tops * 1e12)

    def op(self, name: str) -> OpRecord:
        for r in self.ops:
            if r.name == name:
                return r
        raise BackendError(f"estimate of {self.graph!r} has no op named {name!r}")

    def costliest(self, n: int = 10, by: str = "latency_s") -> list[OpRecord]:
        return sorted(self.ops, key=lambda r: -getattr(r, by) * r.repeat)[:n]

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("hardware", "ops")}
        d["hardware"] = self.hardware.model_dump(mode="json")
        d["ops"] = [asdict(r) for r in self.ops]
        d["edp_js"] = self.edp_js
        d["utilisation"] = self.utilisation
        return d

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=_jsonable)


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"cannot serialise {type(x).__name__}")


def tensor_homes(graph: ir.Graph, c: HwConsts) -> dict[str, str]:
    """Where each tensor lives between ops: ``glb`` for activations that fit the resident share of the global
    buffer, ``dram`` for weights, graph inputs/outputs and large activations."""
    outs = set(graph.outputs)
    homes = {}
    for name, t in graph.tensors.items():
        small = c.home != DRAM and t.numel * c.bits_a <= c.resident_bits
        homes[name] = "glb" if (t.role == ir.TensorRole.ACTIVATION and small and name not in outs) else "dram"
    return homes


def fusable_inputs(graph: ir.Graph) -> set[tuple[str, str]]:
    """(op, input tensor) pairs an elementwise op can read from its producer's local buffer: the producer runs
    just before it and nothing else reads the tensor."""
    readers = Counter(a.tensor for o in graph.ops for a in o.inputs)
    out = set()
    for prev, op in zip(graph.ops, graph.ops[1:]):
        if op.kind in (ir.OpKind.ELEMENTWISE,) and not ir.is_contraction(op):
            t = prev.output.tensor
            if readers[t] == 1 and any(a.tensor == t for a in op.inputs) and t not in graph.outputs:
                out.add((op.name, t))
    return out


def op_cost(op: ir.Op, graph: ir.Graph, hw: Hardware, c: HwConsts, homes: dict[str, str], fused: set,
            target: str, sig: str, ports: Ports | None = None, attention: str = "best") -> OpCost:
    loc = tuple("local" if (op.name, a.tensor) in fused else homes[a.tensor] for a in op.inputs)
    key = (op_signature(op, graph), loc, homes[op.output.tensor], sig, target, attention)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    ports = ports or Ports.of([c])
    if op.kind == ir.OpKind.ATTENTION:
        cost = attention_cost(op, hw, c, loc, homes[op.output.tensor], target, sig, ports, attention)
    elif ir.is_contraction(op):
        res = (loc[0] in ("glb", "local"), loc[1] in ("glb", "local"), homes[op.output.tensor] == "glb")
        cost = map_gemm(as_gemm(op), c, res, target)
        if op.attrs.get("epilogue") and cost.feasible:
            cost = _with_epilogue(cost, op, graph, hw, c, loc, ports)
    elif op.kind.category == "movement":
        t = graph.tensors[op.output.tensor]
        src, dst = (loc[0] if loc else "dram"), homes[op.output.tensor]
        if is_free_view(op.kind.value, src, dst):
            cost = free_view(c)
        else:
            reads, write = movement(op.kind.value, t.numel * c.bits_a, src, dst)
            cost = describe(c, ports, 0, 0.0, reads, write, op.kind.value, stream=False)
    else:
        reads = [(graph.tensors[a.tensor].numel * c.bits_a, h) for a, h in zip(op.inputs, loc)]
        write = (graph.tensors[op.output.tensor].numel * c.bits_a, homes[op.output.tensor])
        fn = op.fn or op.kind.value
        cost = describe(c, ports, op.iterations, hw.vector_unit.cycles(fn), reads, write, fn)
        cost.schedule["fused_inputs"] = [t for (n, t) in fused if n == op.name]
    if c.launch_cycles and cost.feasible and not cost.schedule.get("view") and op.kind != ir.OpKind.ATTENTION:
        cost = _launched(cost, c, ports)
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = cost
    return cost


def _launched(cost: OpCost, c: HwConsts, ports: Ports) -> OpCost:
    """The op as one kernel: its launch's fixed cycles added (and the leakage meanwhile)."""
    parts = dict(cost.energy_by_component_j)
    parts["leakage"] += float(np.asarray(leakage_j(ports.leak_w, c.launch_cycles, ports.clock_hz)).reshape(-1)[0])
    sched = {**cost.schedule, "cycles_by_term": {**cost.schedule.get("cycles_by_term", {}),
                                                 "kernel launch": c.launch_cycles}}
    return OpCost(cost.cycles + c.launch_cycles, parts, sched, cost.feasible)


def epilogue_reads(op: ir.Op, graph: ir.Graph, c: HwConsts, loc) -> list[tuple[float, str]]:
    """The extra operands of a fused epilogue (bias, residual, norm weights): (bits, home) each."""
    return [(graph.tensors[a.tensor].numel * c.bits_a, h) for a, h in zip(op.inputs[2:], loc[2:])]


def _with_epilogue(cost: OpCost, op: ir.Op, graph: ir.Graph, hw: Hardware, c: HwConsts, loc, ports) -> OpCost:
    cyc, energy, lane_j = epilogue_cost(ports, c, op.attrs["epilogue"], epilogue_reads(op, graph, c, loc),
                                        hw.vector_unit.cycles)
    epi = float(np.asarray(cyc).reshape(-1)[0])
    total = max(cost.cycles, epi)
    parts = dict(cost.energy_by_component_j)
    parts["vector"] += float(np.asarray(lane_j).reshape(-1)[0])
    memory = float(np.asarray(energy).reshape(-1)[0]) - float(np.asarray(lane_j).reshape(-1)[0])
    parts[_local_name(c)] += memory
    parts["leakage"] += float(np.asarray(leakage_j(ports.leak_w, total - cost.cycles, ports.clock_hz)).reshape(-1)[0])
    sched = {**cost.schedule, "epilogue": [p.get("fn") or p.get("kind") for p in op.attrs["epilogue"]],
             "epilogue_cycles": epi}
    sched["cycles_by_term"] = {**sched["cycles_by_term"], "epilogue (vector unit)": epi}
    if epi > cost.cycles:
        sched["bound"] = "epilogue (vector unit)"
    return OpCost(total, parts, sched)


def _local_name(c: HwConsts) -> str:
    i = c.innermost("per_core")
    return c.levels[i].name if i >= 0 else next(lv.name for lv in c.levels if lv.sharing != "per_pe")


def unfused_homes(op: ir.Op, sub: ir.Graph, c: HwConsts, loc, out_home: str) -> dict[str, str]:
    """Homes for the ops a fused attention op stands for: its inputs and output where the fused op has them,
    intermediates (the scores) by the usual size rule."""
    homes = tensor_homes(sub, c)
    for i, h in enumerate(loc):
        homes[f"in{i}"] = h if h != "local" else "glb"
    homes["out"] = out_home
    return homes


def attention_cost(op: ir.Op, hw: Hardware, c: HwConsts, loc, out_home: str, target: str, sig: str, ports: Ports,
                   mode: str) -> OpCost:
    """A fused attention op: the fused block schedule, the unfused ops, or the better of the two (``mode``)."""
    fused_c = None
    if mode in ("best", "fused"):
        _, _, det = fused_cost(op, [c], ports, [*loc, out_home], target, hw.vector_unit.cycles("softmax"),
                               detail=True)
        if det is not None:
            fused_c = _fused_opcost(op, c, ports, *det)
            if c.launch_cycles:
                fused_c = _launched(fused_c, c, ports)
    if mode == "fused" and fused_c is not None:
        return fused_c
    if not op.attrs.get("unfused"):                 # built by hand: no parts to run unfused
        if fused_c is not None:
            return fused_c
        raise MappingError(f"op {op.name!r}: fused attention fits no block on {c.levels[0].name}.. and has no "
                           "unfused parts (attrs['unfused']) to fall back to; give a larger per-core level")
    sub = ir.unfused_graph(op)
    homes = unfused_homes(op, sub, c, loc, out_home)
    parts = [op_cost(o, sub, hw, c, homes, set(), target, sig, ports) for o in sub.ops]
    energy = {k: sum(p.energy_by_component_j.get(k, 0.0) for p in parts) for k in components(c)}
    unfused_c = OpCost(sum(p.cycles for p in parts), energy,
                       {"unit": "attention", "fused": False, "bound": "unfused ops",
                        "ops": [{"kind": o.kind.value, "fn": o.fn, "cycles": p.cycles, "bound": p.schedule.get("bound")}
                                for o, p in zip(sub.ops, parts)],
                        "fallback": mode != "unfused", "utilisation": 0.0,
                        "cycles_by_term": {"unfused ops": sum(p.cycles for p in parts)}},
                       all(p.feasible for p in parts))
    if fused_c is None:
        return unfused_c
    pick = objective(target, fused_c.cycles, fused_c.energy_j) <= objective(target, unfused_c.cycles,
                                                                              unfused_c.energy_j)
    return fused_c if pick else unfused_c


def _fused_opcost(op: ir.Op, c: HwConsts, ports: Ports, st, vec_j: float, facts: dict) -> OpCost:
    def one(x) -> float:
        return float(np.asarray(x).reshape(-1)[0])
    nl = len(c.levels)
    performed = facts["macs_performed"]
    parts = {k: 0.0 for k in components(c)}
    parts["mac"] = performed * one(ports.e_mac)
    parts["pipeline_registers"] = performed * one(ports.e_reg)
    parts["vector"] = vec_j
    for j, lv in enumerate(c.levels):
        parts[lv.name] = one((st.reads[j] + st.writes[j]) * ports.e_bit[j])
    parts["dram"] = one((st.reads[nl] + st.writes[nl]) * ports.e_bit[nl])
    parts["leakage"] = one(leakage_j(ports.leak_w, st.t, ports.clock_hz))
    cyc = one(st.t)
    terms = {k: one(v) for k, v in st.terms.items()}
    sched = {"unit": "attention", "fused": True, **facts, "bound": max(terms, key=terms.get),
             "cycles_by_term": terms, "utilisation": ir.macs(op) / (cyc * c.cores * c.rows * c.cols) if cyc else 0.0,
             "loop_nest": loop_nest(facts)}
    return OpCost(cyc, parts, sched)


def estimate(graph: ir.Graph, hardware: Hardware, target: str = "edp", fuse: bool = True,
             op_targets: dict[str, str] | None = None, attention: str = "best") -> Estimate:
    """Latency, energy (leakage included) and area of one inference of ``graph`` on ``hardware``.

    ``target`` picks each op's schedule: "latency", "energy" or "edp"; ``op_targets`` overrides it per op name.
    ``fuse`` lets elementwise ops read their producer's output from the local buffer. ``attention``: how fused
    attention ops (``ir.fuse``) run: "fused" (block schedule; the unfused ops when no block fits), "unfused", or
    "best" (whichever scores better under ``target``).
    """
    if attention not in ATTENTION:
        raise BackendError(f"unknown attention mode {attention!r} (allowed: {', '.join(ATTENTION)})")
    op_targets = dict(op_targets or {})
    for name, t in [("<all ops>", target), *op_targets.items()]:
        if t not in TARGETS:
            raise BackendError(f"unknown target {t!r} for {name} (allowed: {', '.join(TARGETS)})")
    unknown = set(op_targets) - {o.name for o in graph.ops}
    if unknown:
        raise BackendError(f"op_targets names ops not in graph {graph.name!r}: {sorted(unknown)}")
    if not isinstance(hardware, Hardware):
        raise BackendError(f"hardware must be a backend.Hardware, got {type(hardware).__name__}")
    sig = hardware.signature()
    c = consts(hardware, sig)
    homes = tensor_homes(graph, c)
    fused = fusable_inputs(graph) if fuse else set()
    ports = Ports.of([c])
    totals = {k: 0.0 for k in components(c)}
    cycles = 0.0
    records, bad = [], []
    macs = 0
    for op, k in graph.weighted_ops():
        cost = op_cost(op, graph, hardware, c, homes, fused, op_targets.get(op.name, target), sig, ports, attention)
        if not cost.feasible:
            bad.append(f"{op.name}: {cost.schedule.get('infeasible', 'infeasible')}")
        cycles += k * cost.cycles
        for part, v in cost.energy_by_component_j.items():
            totals[part] += k * v
        m = ir.macs(op)
        macs += k * m
        records.append(OpRecord(op.name, op.kind.value, op.fn, k, m, cost.cycles, cost.cycles / c.clock_hz,
                                cost.energy_j, dict(cost.energy_by_component_j), cost.schedule, cost.feasible))
    area = hardware.area_by_component_mm2
    return Estimate(graph=graph.name, target=target, latency_s=cycles / c.clock_hz, energy_j=sum(totals.values()),
                    energy_by_component_j=totals, leakage_power_w=c.leak_w, area_mm2=sum(area.values()),
                    area_by_component_mm2=dict(area), peak_tops=hardware.peak_tops, macs=macs, hardware=hardware,
                    ops=records, feasible=not bad, infeasible=bad)


def clear_cache() -> None:
    _CACHE.clear()
