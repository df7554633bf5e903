"""CarbonReport: totals, the six-way breakdown, per device and per inference, break-even, and the assumptions used."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .constants import Constant
from .design import Design
from .model import COMPONENTS, EMBODIED, OPERATIONAL


@dataclass(frozen=True)
class Bands:
    """Monte Carlo percentiles of total carbon (kg per device)."""

    p5_kg: float
    p50_kg: float
    p95_kg: float
    samples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"p5_kg": self.p5_kg, "p50_kg": self.p50_kg, "p95_kg": self.p95_kg, "samples": self.samples,
                "seed": self.seed}


@dataclass(frozen=True)
class Swing:
    """One constant moved to its low and high value, the others nominal: total carbon at each end."""

    name: str
    symbol: str
    low: float
    high: float
    unit: str
    total_at_low_kg: float
    total_at_high_kg: float

    @property
    def swing_kg(self) -> float:
        return abs(self.total_at_high_kg - self.total_at_low_kg)


@dataclass(frozen=True)
class CarbonReport:
    scenario: str
    design: Design
    inferences: float
    breakdown_kg: dict[str, float]           # per device, keys COMPONENTS
    yield_: float
    cpa_g_per_cm2: float                     # die carbon per cm2 after yield
    grid_g_per_kwh: float                    # lifetime-effective use-phase intensity
    assumptions: tuple[Constant, ...]
    notes: tuple[str, ...] = ()
    bands: Bands | None = None
    tornado: tuple[Swing, ...] = field(default_factory=tuple)

    @property
    def embodied_kg(self) -> float:
        return sum(self.breakdown_kg[k] for k in EMBODIED)

    @property
    def operational_kg(self) -> float:
        return sum(self.breakdown_kg[k] for k in OPERATIONAL)

    @property
    def total_kg(self) -> float:
        return self.embodied_kg + self.operational_kg

    @property
    def per_inference_kg(self) -> dict[str, float]:
        return {k: v / self.inferences for k, v in self.breakdown_kg.items()}

    @property
    def total_per_inference_kg(self) -> float:
        return self.total_kg / self.inferences

    @property
    def break_even_inferences(self) -> float:
        """Inferences at which operational carbon (idle share included) equals embodied carbon."""
        op_per_inf = self.operational_kg / self.inferences
        return self.embodied_kg / op_per_inf if op_per_inf > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        d = {
            "scenario": self.scenario,
            "inferences": self.inferences,
            "total_kg": self.total_kg,
            "embodied_kg": self.embodied_kg,
            "operational_kg": self.operational_kg,
            "breakdown_kg": dict(self.breakdown_kg),
            "per_inference_kg": self.per_inference_kg,
            "total_per_inference_kg": self.total_per_inference_kg,
            "break_even_inferences": self.break_even_inferences if math.isfinite(self.break_even_inferences) else None,
            "yield": self.yield_,
            "cpa_g_per_cm2": self.cpa_g_per_cm2,
            "grid_g_per_kwh": self.grid_g_per_kwh,
            "design": dict(self.design.__dict__),
            "assumptions": [c.to_dict() for c in self.assumptions],
            "notes": list(self.notes),
        }
        if self.bands is not None:
            d["bands"] = self.bands.to_dict()
        if self.tornado:
            d["tornado"] = [{"name": s.name, "symbol": s.symbol, "low": s.low, "high": s.high, "unit": s.unit,
                             "total_at_low_kg": s.total_at_low_kg, "total_at_high_kg": s.total_at_high_kg,
                             "swing_kg": s.swing_kg} for s in self.tornado]
        return d

    def format(self) -> str:
        """A plain-text table for the terminal."""
        d = self.design
        lines = [f"scenario {self.scenario}: {self.inferences:,.0f} inferences; node {d.node_nm} nm, "
                 f"die {d.area_mm2:.2f} mm2, {d.dram_gb:g} GB {d.dram_kind}, {d.latency_s * 1e3:.3f} ms, "
                 f"{d.energy_j * 1e3:.4f} mJ/inference",
                 f"{'component':<22}{'kg/device':>12}{'g/inference':>14}{'share':>8}"]
        total = self.total_kg or 1.0          # shares of a zero total are zero, not a division by zero
        for k, v in (*((k, self.breakdown_kg[k]) for k in COMPONENTS), ("embodied", self.embodied_kg),
                     ("operational", self.operational_kg), ("total", self.total_kg)):
            lines.append(f"{k:<22}{v:>12.4f}{v / self.inferences * 1e3:>14.3e}{v / total:>8.1%}")
        even = self.break_even_inferences
        even_text = f"at {even:,.0f} inferences" if math.isfinite(even) else "never (no operational carbon)"
        lines.append(f"yield {self.yield_:.4f}, die carbon {self.cpa_g_per_cm2:.1f} g/cm2, grid "
                     f"{self.grid_g_per_kwh:.1f} g/kWh, break-even {even_text}")
        if self.bands is not None:
            b = self.bands
            lines.append(f"total carbon P5 {b.p5_kg:.4f}  P50 {b.p50_kg:.4f}  P95 {b.p95_kg:.4f} kg "
                         f"({b.samples} Monte Carlo samples, seed {b.seed})")
        if self.tornado:
            lines.append("largest drivers (each constant at its low / high value):")
            for s in self.tornado:
                lines.append(f"  {s.name:<44} {s.low:>10.4g} .. {s.high:<10.4g} {s.unit:<8} -> "
                             f"{s.total_at_low_kg:.4f} .. {s.total_at_high_kg:.4f} kg")
        lines.extend(self.notes)
        return "\n".join(lines)
