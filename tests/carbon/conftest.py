"""Shared helpers for the carbon tests: a small estimate double with known numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class Dram:
    kind: str = "lpddr4"
    capacity_gb: float = 1.0


@dataclass
class Hardware:
    node_nm: int = 22
    dram: Dram = field(default_factory=Dram)
    clock_hz: float = 625e6


@dataclass
class FakeEstimate:
    """Implements the Estimate contract of backend.estimate with chosen numbers."""

    latency_s: float = 0.0185
    energy_j: float = 0.012
    leakage_j: float = 0.002
    leakage_power_w: float = 0.108
    area_mm2: float = 25.0
    hardware: Hardware = field(default_factory=Hardware)

    @property
    def energy_by_component_j(self) -> dict[str, float]:
        return {"mac": self.energy_j - self.leakage_j - 0.001, "dram": 0.001, "leakage": self.leakage_j}


@pytest.fixture
def est() -> FakeEstimate:
    return FakeEstimate()
