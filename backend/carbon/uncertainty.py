"""Uncertainty: Monte Carlo bands of total carbon, a one-at-a-time tornado, and P(design A < design B).

Each constant is drawn from a triangular distribution on [low, high] with its mode at the nominal value. Constants
are keyed by their unique name, so two designs that share a constant (the same grid, the same node) see the same
draw: the comparison is paired, and only what differs between the designs decides it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .api import design_inputs, prepare, report_from
from .design import Design, EstimateLike
from .errors import CarbonError
from .model import evaluate, totals
from .report import Bands, CarbonReport, Swing
from .scenario import Scenario
from .setup import Setup

DEFAULT_SAMPLES = 20_000
MAX_SAMPLES = 10_000_000        # ~80 MB per constant; more adds nothing to P5/P95


def sample_params(setups: list[Setup], samples: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Joint draws of every constant the setups use; one dict of symbol -> array(samples) per setup."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise CarbonError(f"Monte Carlo samples must lie in 1..{MAX_SAMPLES:,}, got {samples}")
    if not 0 <= seed < 2**63:
        raise CarbonError(f"Monte Carlo seed must be an integer in 0..2**63-1, got {seed}")
    rng = np.random.default_rng(seed)
    consts = {c.name: c for s in setups for c in s.params.values()}
    draws = {}
    for name in sorted(consts):
        c = consts[name]
        draws[name] = rng.triangular(c.low, c.value, c.high, samples) if c.uncertain else np.full(samples, c.value)
    return [{sym: draws[c.name] for sym, c in s.params.items()} for s in setups]


def _total(d: Design, p: dict, s: Setup) -> np.ndarray:
    return totals(evaluate(design_inputs(d), p, s))[2]


def monte_carlo(estimate: EstimateLike | Design, scenario: Scenario | str | Path, samples: int = DEFAULT_SAMPLES,
                seed: int = 0, model_bytes: float | None = None) -> Bands:
    """P5/P50/P95 of total carbon per device."""
    d, s = prepare(estimate, scenario, model_bytes)
    report_from(d, s)  # raises on an infeasible design
    (p,) = sample_params([s], samples, seed)
    t = _total(d, p, s)
    p5, p50, p95 = np.percentile(t, [5, 50, 95])
    return Bands(float(p5), float(p50), float(p95), samples, seed)


def tornado(estimate: EstimateLike | Design, scenario: Scenario | str | Path, top: int = 8,
            model_bytes: float | None = None) -> tuple[Swing, ...]:
    """The ``top`` constants whose low-to-high swing moves total carbon most, largest first."""
    d, s = prepare(estimate, scenario, model_bytes)
    return _tornado(d, s, top)


def _tornado(d: Design, s: Setup, top: int) -> tuple[Swing, ...]:
    base = s.nominal()
    swings = []
    for sym, c in s.params.items():
        if not c.uncertain:
            continue
        lo = float(_total(d, {**base, sym: c.low}, s))
        hi = float(_total(d, {**base, sym: c.high}, s))
        swings.append(Swing(c.name, sym, c.low, c.high, c.unit, lo, hi))
    swings.sort(key=lambda w: -w.swing_kg)
    return tuple(swings[:top])


def with_uncertainty(estimate: EstimateLike | Design, scenario: Scenario | str | Path,
                     samples: int = DEFAULT_SAMPLES, seed: int = 0, top: int = 8,
                     model_bytes: float | None = None) -> CarbonReport:
    """``carbon(...)`` with Monte Carlo bands and the tornado filled in."""
    d, s = prepare(estimate, scenario, model_bytes)
    rep = report_from(d, s)
    (p,) = sample_params([s], samples, seed)
    p5, p50, p95 = np.percentile(_total(d, p, s), [5, 50, 95])
    return dataclasses.replace(rep, bands=Bands(float(p5), float(p50), float(p95), samples, seed),
                               tornado=_tornado(d, s, top))


def prob_less(a: EstimateLike | Design, b: EstimateLike | Design, scenario: Scenario | str | Path,
              samples: int = DEFAULT_SAMPLES, seed: int = 0, model_bytes: float | None = None) -> float:
    """P(total carbon of A < total carbon of B), constants they share drawn jointly."""
    da, sa = prepare(a, scenario, model_bytes)
    db, sb = prepare(b, scenario, model_bytes)
    report_from(da, sa)
    report_from(db, sb)
    pa, pb = sample_params([sa, sb], samples, seed)
    return float(np.mean(_total(da, pa, sa) < _total(db, pb, sb)))
