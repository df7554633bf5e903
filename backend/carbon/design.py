"""What the carbon model reads from a hardware estimate: a Protocol for ``backend.estimate``'s result, and Design."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping, Protocol

from .errors import CarbonError
from .scenario import Scenario

GIB = 2.0 ** 30


class DramLike(Protocol):
    kind: str
    capacity_gb: float


class HardwareLike(Protocol):
    node_nm: int
    dram: DramLike
    clock_hz: float


class EstimateLike(Protocol):
    """The slice of ``backend.estimate(graph, hw)``'s result the carbon model uses (per inference)."""

    latency_s: float
    energy_j: float                      # includes leakage energy
    energy_by_component_j: Mapping[str, float]
    leakage_power_w: float
    area_mm2: float                      # die only, no DRAM
    hardware: HardwareLike


@dataclass(frozen=True)
class Design:
    """One design point as the carbon model sees it, after the scenario's overrides."""

    energy_j: float              # per inference, leakage included
    leakage_energy_j: float      # per inference
    leakage_power_w: float
    latency_s: float
    area_mm2: float
    node_nm: int
    dram_kind: str
    dram_gb: float

    @property
    def dynamic_energy_j(self) -> float:
        return self.energy_j - self.leakage_energy_j


def dram_capacity_gb(scenario: Scenario, hardware_gb: float | None, model_bytes: float | None) -> float:
    """DRAM capacity the scenario asks for: the hardware's, a fixed size, or the weights rounded up to parts."""
    d = scenario.manufacturing.dram
    if d.capacity == "fixed":
        return float(d.capacity_gb)
    if d.capacity == "hardware":
        if hardware_gb is None or not hardware_gb >= 0:
            raise CarbonError(f"scenario {scenario.name!r}: manufacturing.dram.capacity is 'hardware' but the "
                              f"hardware gives no DRAM capacity ({hardware_gb!r}); use capacity: fixed")
        return float(hardware_gb)
    if model_bytes is None or model_bytes < 0:
        raise CarbonError(f"scenario {scenario.name!r}: manufacturing.dram.capacity is 'weights' but no model size "
                          "was given (pass model_bytes=ir.totals(graph).param_bytes)")
    need_gb = model_bytes * (1.0 + d.headroom) / GIB
    return max(d.granularity_gb, math.ceil(need_gb / d.granularity_gb - 1e-12) * d.granularity_gb)


def design_from_estimate(est: EstimateLike, scenario: Scenario, model_bytes: float | None = None) -> Design:
    """Read an estimate through the scenario: node and DRAM overrides, leakage split out of the energy."""
    for field in ("latency_s", "energy_j", "area_mm2", "leakage_power_w"):
        v = getattr(est, field, None)
        if v is None or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise CarbonError(f"estimate field {field} must be a finite number >= 0, got {v!r}")
    if getattr(est, "feasible", True) is False:
        why = "; ".join(list(getattr(est, "infeasible", []))[:3])
        raise CarbonError(f"estimate is infeasible (the model does not map onto the hardware): {why}")
    if est.latency_s <= 0:
        raise CarbonError(f"estimate latency_s must be > 0, got {est.latency_s!r}")
    hw = est.hardware
    m = scenario.manufacturing
    leak_j = float(est.energy_by_component_j.get("leakage", 0.0))
    if not 0 <= leak_j <= est.energy_j * (1 + 1e-9):
        raise CarbonError(f"estimate energy_by_component_j['leakage'] = {leak_j!r} J must lie in [0, energy_j "
                          f"= {est.energy_j!r} J]")
    dram = getattr(hw, "dram", None)
    kind = m.dram.kind or (getattr(dram, "kind", None) or "")
    if not kind:
        raise CarbonError(f"scenario {scenario.name!r}: the hardware names no DRAM kind; set manufacturing.dram.kind")
    node = m.node_nm if m.node_nm is not None else getattr(hw, "node_nm", None)
    if node is None:
        raise CarbonError(f"scenario {scenario.name!r}: the hardware names no node; set manufacturing.node_nm")
    gb = dram_capacity_gb(scenario, getattr(dram, "capacity_gb", None), model_bytes)
    return Design(float(est.energy_j), leak_j, float(est.leakage_power_w), float(est.latency_s),
                  float(est.area_mm2), int(node), kind.lower(), gb)


def check_design(d: Design) -> Design:
    """CarbonError unless every number of the design is finite and >= 0 and its leakage is part of its energy."""
    for field in ("energy_j", "leakage_energy_j", "leakage_power_w", "latency_s", "area_mm2", "dram_gb"):
        v = getattr(d, field)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
            raise CarbonError(f"design field {field} must be a finite number >= 0, got {v!r}")
    if d.leakage_energy_j > d.energy_j * (1 + 1e-9):
        raise CarbonError(f"design leakage_energy_j = {d.leakage_energy_j!r} J exceeds its energy_j = "
                          f"{d.energy_j!r} J (leakage is part of the energy)")
    return d


def apply_overrides(d: Design, scenario: Scenario, model_bytes: float | None = None) -> Design:
    """A Design seen through the scenario: its node, DRAM kind and DRAM capacity settings win."""
    check_design(d)
    m = scenario.manufacturing
    return dataclasses.replace(
        d, node_nm=m.node_nm if m.node_nm is not None else d.node_nm, dram_kind=(m.dram.kind or d.dram_kind).lower(),
        dram_gb=dram_capacity_gb(scenario, d.dram_gb, model_bytes))
