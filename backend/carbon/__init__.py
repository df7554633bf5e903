"""CATX's carbon model: embodied (die, DRAM, package) plus operational (dynamic, leakage, idle) carbon of a design.

``carbon(estimate, scenario) -> CarbonReport``; ``carbon_batch`` evaluates arrays of designs for the search;
``monte_carlo``, ``tornado``, ``prob_less`` and ``with_uncertainty`` propagate every constant's low/high range.
The package itself is callable as ``carbon``, so ``backend.carbon(est, sc)`` and ``backend.carbon.scenarios``
both work once ``backend`` does ``from . import carbon``.
"""

import sys
import types

from . import constants, scenarios
from .api import carbon, carbon_batch
from .design import Design, EstimateLike, design_from_estimate, dram_capacity_gb
from .errors import CarbonDataError, CarbonError, ScenarioError, TraceError
from .model import dies_per_wafer, negative_binomial_yield
from .report import Bands, CarbonReport, Swing
from .scenario import Scenario
from .uncertainty import monte_carlo, prob_less, tornado, with_uncertainty

__all__ = [
    "Bands", "CarbonDataError", "CarbonError", "CarbonReport", "Design", "EstimateLike", "Scenario", "ScenarioError",
    "Swing", "TraceError", "carbon", "carbon_batch", "constants", "design_from_estimate", "dies_per_wafer",
    "dram_capacity_gb", "monte_carlo", "negative_binomial_yield", "prob_less", "scenarios", "tornado",
    "with_uncertainty",
]


class _CallableModule(types.ModuleType):
    """Lets ``backend.carbon(estimate, scenario)`` call ``carbon`` while ``backend.carbon.scenarios`` stays a module."""

    def __call__(self, estimate, scenario, model_bytes=None) -> CarbonReport:
        return carbon(estimate, scenario, model_bytes)


sys.modules[__name__].__class__ = _CallableModule
