"""The carbon equations, vectorised with numpy: embodied (die, DRAM, package) and operational (dynamic, leakage, idle).

Every input may be a scalar or an array; arrays broadcast, so one call evaluates thousands of designs (the search)
or thousands of constant samples (Monte Carlo). SI inside: J, s, mm2 in; grams internally; kg out.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .setup import Setup

J_PER_KWH = 3.6e6
COMPONENTS = ("die", "dram", "package", "operational_dynamic", "leakage", "idle")
EMBODIED = ("die", "dram", "package")
OPERATIONAL = ("operational_dynamic", "leakage", "idle")
DESIGN_FIELDS = ("energy_j", "leakage_energy_j", "leakage_power_w", "latency_s", "area_mm2", "dram_gb")

ArrayLike = float | np.ndarray


def negative_binomial_yield(area_cm2: ArrayLike, defects_per_cm2: ArrayLike, alpha: ArrayLike) -> np.ndarray:
    """Y = (1 + A D0 / alpha)^-alpha."""
    return np.power(1.0 + np.asarray(area_cm2) * defects_per_cm2 / alpha, -np.asarray(alpha, dtype=float))


def dies_per_wafer(area_mm2: ArrayLike, diameter_mm: ArrayLike = 300.0) -> np.ndarray:
    """Gross dies per wafer, pi d^2 / (4 A) - pi d / sqrt(2 A) (edge loss included; can be <= 0 for huge dies)."""
    a = np.asarray(area_mm2, dtype=float)
    d = np.asarray(diameter_mm, dtype=float)
    return np.pi * d * d / (4.0 * a) - np.pi * d / np.sqrt(2.0 * a)


def evaluate(x: Mapping[str, ArrayLike], p: Mapping[str, ArrayLike], s: Setup) -> dict[str, np.ndarray]:
    """Carbon of designs ``x`` (fields DESIGN_FIELDS) under constants ``p`` (Setup.params symbols) and setup ``s``.

    Returns per-device kg for each of COMPONENTS (as ``<name>_kg``), plus ``yield``, ``cpa_g_per_cm2`` (after yield),
    ``grid_g_per_kwh`` (lifetime-effective) and ``feasible`` (the device can serve its inferences while powered).
    """
    area_mm2 = np.asarray(x["area_mm2"], dtype=float)
    area_cm2 = area_mm2 / 100.0
    fab = p["fab_g_per_kwh"]
    cpa_raw = fab * p["epa"] + p["gpa"] + p["mpa"]  # g/cm2 of good-and-bad silicon
    if s.yield_model == "negative_binomial":
        y = negative_binomial_yield(area_cm2, p["defect_density"], p["yield_alpha"])
    else:
        y = np.asarray(p["fixed_yield"], dtype=float)
    if s.area_accounting == "wafer":
        diameter = p["wafer_diameter_mm"]
        dpw = dies_per_wafer(area_mm2, diameter)
        wafer_cm2 = np.pi * (np.asarray(diameter) / 2.0) ** 2 / 100.0
        with np.errstate(divide="ignore"):
            eff_cm2 = np.where(dpw >= 1.0, wafer_cm2 / np.maximum(dpw, 1.0), np.inf)
    else:
        eff_cm2 = area_cm2
    die_g = cpa_raw * eff_cm2 / y

    dram_g = np.asarray(x["dram_gb"], dtype=float) * p["dram_g_per_gb"] / p["dram_yield"]

    if s.packaging_model == "per_ic":
        package_g = np.asarray(p["package_g"], dtype=float)
    elif s.packaging_model == "per_area":
        pkg_mm2 = (s.package_area_mm2 if s.package_area_mm2 is not None
                   else area_mm2 * s.package_to_die_area_ratio)
        package_g = p["package_kwh_per_mm2"] * pkg_mm2 * fab
    else:
        package_g = np.asarray(0.0)

    n = s.inferences
    g_per_j = p["grid_g_per_kwh"] * s.decarbonisation_factor / p["power_delivery_efficiency"] / J_PER_KWH
    e_leak = np.asarray(x["leakage_energy_j"], dtype=float)
    e_dyn = np.asarray(x["energy_j"], dtype=float) - e_leak
    op_dyn_g = n * e_dyn * g_per_j
    leak_g = n * e_leak * g_per_j if s.include_leakage else np.zeros_like(op_dyn_g)
    busy_s = n * np.asarray(x["latency_s"], dtype=float)
    idle_s = s.powered_s - busy_s
    if s.idle_policy == "retentive":
        idle_w = np.asarray(x["leakage_power_w"], dtype=float)
    elif s.idle_policy == "power_gated":
        idle_w = p["gated_leakage_fraction"] * np.asarray(x["leakage_power_w"], dtype=float)
    else:
        idle_w = np.asarray(0.0)
    idle_g = idle_w * np.maximum(idle_s, 0.0) * g_per_j

    shape = np.broadcast_shapes(*(np.shape(v) for v in (die_g, dram_g, package_g, op_dyn_g, leak_g, idle_g)))
    out = {f"{k}_kg": np.broadcast_to(np.asarray(v, dtype=float) / 1000.0, shape)
           for k, v in zip(COMPONENTS, (die_g, dram_g, package_g, op_dyn_g, leak_g, idle_g))}
    out["yield"] = np.broadcast_to(y, shape)
    out["cpa_g_per_cm2"] = np.broadcast_to(cpa_raw / y, shape)
    out["grid_g_per_kwh"] = np.broadcast_to(p["grid_g_per_kwh"] * s.decarbonisation_factor, shape)
    out["feasible"] = np.broadcast_to((idle_s >= -1e-9 * s.powered_s) & np.isfinite(eff_cm2), shape)
    return out


def totals(out: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embodied_kg, operational_kg, total_kg) from ``evaluate``'s components."""
    emb = sum(out[f"{k}_kg"] for k in EMBODIED)
    op = sum(out[f"{k}_kg"] for k in OPERATIONAL)
    return emb, op, emb + op
