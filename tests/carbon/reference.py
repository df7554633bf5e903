"""The catx-default preset's carbon written out by hand from the published constants (BRIEF sections 1 and 4, ACT),
independent of backend.carbon's code and data files: the reference its tests compare against."""

from __future__ import annotations

import numpy as np

INFERENCES = 3 * 365 * 6 * 3600 * 1                  # 3 years, 6 h a day, 1 inference/s: 23,652,000
POWERED_S = 3 * 365 * 6 * 3600
G_PER_J = 224 / 0.875 / 3.6e6                         # California 224 g/kWh, 0.875 power delivery, J -> kWh
CPA_RAW_G_PER_CM2 = 583 * 1.077 + 188.28 + 500        # Taiwan 583 g/kWh x EPA(22 nm) + GPA(95 %) + MPA
PACKAGE_KG = 0.150                                    # ACT: 150 g per IC
LPDDR4_KG_PER_GB = 48 / 0.875 / 1000                  # 48 g/GB at DRAM fab yield 0.875


def catx_default_kg(energy_j, leakage_energy_j, leakage_power_w, latency_s, area_mm2, dram_gb=1.0) -> dict:
    """Per-device kg of each part under catx-default at 22 nm: negative-binomial yield (D0 0.08/cm2, alpha 10),
    wafer-edge loss on a 300 mm wafer, power-gated idle at 5 % of leakage. Arrays broadcast."""
    area_mm2 = np.asarray(area_mm2, dtype=float)
    area_cm2 = area_mm2 / 100
    yield_ = (1 + area_cm2 * 0.08 / 10) ** -10
    dies = np.pi * 300**2 / (4 * area_mm2) - np.pi * 300 / np.sqrt(2 * area_mm2)
    silicon_cm2 = np.pi * 15.0**2 / dies                  # the wafer's area shared by its whole dies
    idle_s = POWERED_S - INFERENCES * np.asarray(latency_s, dtype=float)
    out = {
        "die": CPA_RAW_G_PER_CM2 * silicon_cm2 / yield_ / 1000,
        "dram": LPDDR4_KG_PER_GB * np.asarray(dram_gb, dtype=float),
        "package": PACKAGE_KG + 0 * area_mm2,
        "operational_dynamic": INFERENCES * (np.asarray(energy_j) - np.asarray(leakage_energy_j)) * G_PER_J / 1000,
        "leakage": INFERENCES * np.asarray(leakage_energy_j, dtype=float) * G_PER_J / 1000,
        "idle": 0.05 * np.asarray(leakage_power_w, dtype=float) * idle_s * G_PER_J / 1000,
    }
    out["total"] = sum(out.values())
    return out
