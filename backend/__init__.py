"""CATX's hardware backend: accelerator templates, technology library, exact per-op mapper, estimates, sweeps."""

from . import carbon, knobs, presets, tech
from .carbon import CarbonReport, Scenario
from .contraction import Gemm, as_gemm
from .errors import BackendError, HardwareError, MappingError, TechDataError
from .estimate import Estimate, OpRecord, estimate
from .hardware import Hardware
from .mapper import TARGETS, map_gemm
from .presets import EDGE_SPACE, edge_hardware, edge_space
from .sweep import SweepResult, sweep

__all__ = [
    "EDGE_SPACE", "BackendError", "knobs", "CarbonReport", "Estimate", "Gemm", "Hardware", "HardwareError", "MappingError",
    "OpRecord", "Scenario", "SweepResult", "TARGETS", "TechDataError", "as_gemm", "carbon", "edge_hardware",
    "edge_space", "estimate", "map_gemm", "presets", "sweep", "tech",
]
