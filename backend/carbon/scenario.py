"""The deployment and manufacturing scenario: a validated pydantic model, read from YAML."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ir.files import load_yaml

from ..errors import describe_validation_error
from . import constants
from .errors import ScenarioError

DAYS_PER_YEAR = 365.0  # the paper's 3 y x 365 d x 6 h x 1 /s = 23.65 M inferences


class _Strict(BaseModel):
    # every number of a scenario is finite: an infinite lifetime or a NaN rate is an error, not a ``total nan``
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Quantity(_Strict):
    """A scenario's own value for a constant; a bare number means no uncertainty."""

    value: float
    low: float | None = None
    high: float | None = None
    source: str = "scenario file"

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, v: Any) -> Any:
        return {"value": v} if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _ordered(self) -> Quantity:
        lo = self.value if self.low is None else self.low
        hi = self.value if self.high is None else self.high
        if not lo <= self.value <= hi:
            raise ValueError(f"needs low <= value <= high, got {lo}, {self.value}, {hi}")
        return self

    def constant(self, name: str, unit: str) -> constants.Constant:
        lo = self.value if self.low is None else self.low
        hi = self.value if self.high is None else self.high
        return constants.Constant(name, self.value, lo, hi, unit, self.source)


def _check_region(v: str | None, field: str) -> str | None:
    if v is None:
        return v
    allowed = constants.keys("grid", "g_per_kwh")
    if v.lower() not in allowed:
        raise ValueError(f"unknown {field} {v!r}; allowed: {', '.join(allowed)}")
    return v.lower()


def _check_fraction(q: Quantity | None, field: str) -> None:
    if q is None:
        return
    lo = q.value if q.low is None else q.low
    hi = q.value if q.high is None else q.high
    if not (0 < lo and hi <= 1):
        raise ValueError(f"{field} must lie in (0, 1], got value {q.value}, low {lo}, high {hi}")


def _check_nonnegative(q: Quantity | None, field: str) -> None:
    if q is not None and (q.low if q.low is not None else q.value) < 0:
        raise ValueError(f"{field} must be >= 0, got value {q.value}, low {q.low}")


class Grid(_Strict):
    """Use-phase electricity: a region, an explicit intensity, or an hourly trace; optional yearly decarbonisation."""

    region: str | None = None
    g_per_kwh: Quantity | None = None
    trace: str | None = None
    decarbonisation_per_year: float = Field(0.0, ge=0.0, lt=1.0)

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return _check_region(v, "region")

    @model_validator(mode="after")
    def _one_source(self) -> Grid:
        given = [k for k in ("region", "g_per_kwh", "trace") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of region, g_per_kwh, trace (got {given or 'none'})")
        _check_nonnegative(self.g_per_kwh, "g_per_kwh")
        return self


class Deployment(_Strict):
    lifetime_years: float = Field(gt=0)
    total_inferences: float | None = Field(None, gt=0)
    inferences_per_day: float | None = Field(None, gt=0)
    inferences_per_s: float | None = Field(None, gt=0)
    active_hours_per_day: float = Field(24.0, gt=0, le=24)
    active_start_hour: float = Field(0.0, ge=0, lt=24)
    idle_policy: Literal["none", "power_gated", "retentive"] = "power_gated"
    include_leakage: bool = True
    power_delivery_efficiency: Quantity | None = None
    grid: Grid

    @model_validator(mode="after")
    def _one_count(self) -> Deployment:
        given = [k for k in ("total_inferences", "inferences_per_day", "inferences_per_s") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of total_inferences, inferences_per_day, inferences_per_s "
                             f"(got {given or 'none'})")
        _check_fraction(self.power_delivery_efficiency, "power_delivery_efficiency")
        if not (math.isfinite(self.inferences) and math.isfinite(self.powered_s)):
            raise ValueError(f"lifetime_years {self.lifetime_years:g} with this inference rate overflows "
                             "(inferences or powered seconds are not finite numbers)")
        if self.inferences < 1:
            raise ValueError(f"lifetime_years {self.lifetime_years:g} with this inference rate gives "
                             f"{self.inferences:.3g} inferences; a deployment needs at least 1")
        return self

    @property
    def inferences(self) -> float:
        """Inferences over the lifetime."""
        if self.total_inferences:
            return self.total_inferences
        per_day = self.inferences_per_day or self.inferences_per_s * self.active_hours_per_day * 3600.0
        return per_day * DAYS_PER_YEAR * self.lifetime_years

    @property
    def powered_s(self) -> float:
        """Seconds the device is powered over its lifetime (its active hours every day)."""
        return self.active_hours_per_day * 3600.0 * DAYS_PER_YEAR * self.lifetime_years


class Packaging(_Strict):
    model: Literal["none", "per_ic", "per_area"] = "per_ic"
    per_ic_g: Quantity | None = None
    package_type: str = "fcbga"
    package_area_mm2: float | None = Field(None, gt=0)
    package_to_die_area_ratio: float | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _area(self) -> Packaging:
        _check_nonnegative(self.per_ic_g, "per_ic_g")
        if self.model == "per_area":
            allowed = constants.keys("packaging", "epa_package")
            if self.package_type.lower() not in allowed:
                raise ValueError(f"unknown package_type {self.package_type!r}; allowed: {', '.join(allowed)}")
            if (self.package_area_mm2 is None) == (self.package_to_die_area_ratio is None):
                raise ValueError("per_area packaging needs exactly one of package_area_mm2, package_to_die_area_ratio")
        return self


class Dram(_Strict):
    kind: str | None = None                     # None: the hardware's dram.kind
    capacity: Literal["hardware", "fixed", "weights"] = "hardware"
    capacity_gb: float | None = Field(None, gt=0)
    headroom: float = Field(0.0, ge=0)          # extra fraction over the weights (activations, code)
    granularity_gb: float = Field(0.5, gt=0)    # capacity comes in parts of this size
    g_per_gb: Quantity | None = None
    dram_yield: Quantity | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        if v is None:
            return v
        allowed = constants.keys("dram", "g_per_gb")
        if v.lower() not in allowed:
            raise ValueError(f"unknown DRAM kind {v!r}; allowed: {', '.join(allowed)}")
        return v.lower()

    @model_validator(mode="after")
    def _fixed(self) -> Dram:
        if self.capacity == "fixed" and self.capacity_gb is None:
            raise ValueError("capacity: fixed needs capacity_gb")
        _check_nonnegative(self.g_per_gb, "g_per_gb")
        _check_fraction(self.dram_yield, "dram_yield")
        return self


class Manufacturing(_Strict):
    fab_region: str | None = "taiwan"
    fab_g_per_kwh: Quantity | None = None
    gas_abatement: Literal[95, 99] = 95
    node_nm: int | None = None                  # None: the hardware's node
    yield_model: Literal["fixed", "negative_binomial"] = "negative_binomial"
    fixed_yield: Quantity | None = None
    area_accounting: Literal["die", "wafer"] = "die"
    packaging: Packaging = Packaging()
    dram: Dram = Dram()

    @field_validator("fab_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return _check_region(v, "fab_region")

    @model_validator(mode="after")
    def _fab(self) -> Manufacturing:
        if self.fab_g_per_kwh is not None:
            object.__setattr__(self, "fab_region", None)
        elif self.fab_region is None:
            raise ValueError("give fab_region or fab_g_per_kwh")
        _check_fraction(self.fixed_yield, "fixed_yield")
        return self


class Scenario(_Strict):
    """Where and how long a device runs, and how it was made. ``Scenario.from_yaml(path)`` reads one."""

    name: str
    description: str = ""
    deployment: Deployment
    manufacturing: Manufacturing = Manufacturing()
    _base_dir: Path | None = PrivateAttr(default=None)

    @classmethod
    def from_dict(cls, doc: Any, where: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
        if not isinstance(doc, dict):
            raise ScenarioError(f"{where}: a scenario must be a YAML mapping")
        try:
            sc = cls.model_validate(doc)
        except ValidationError as e:
            raise ScenarioError(f"{where}: {describe_validation_error(e)}") from None
        sc._base_dir = base_dir
        return sc

    @classmethod
    def from_yaml(cls, path: str | Path) -> Scenario:
        path = Path(path)
        doc = load_yaml(path, "scenario file", ScenarioError, expect=None)
        return cls.from_dict(doc, str(path), path.resolve().parent)

    def trace_path(self) -> Path | None:
        t = self.deployment.grid.trace
        if t is None:
            return None
        p = Path(t)
        return p if p.is_absolute() or self._base_dir is None else self._base_dir / p

    def replace(self, **changes: Any) -> Scenario:
        """A copy with top-level or dotted fields changed, validated again, e.g. ``{"deployment.grid": {...}}``."""
        doc = self.model_dump(exclude_none=True)
        for key, value in changes.items():
            node = doc
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = value
        sc = Scenario.from_dict(doc, f"<scenario {self.name}>", self._base_dir)
        return sc
