"""The paper's direction on CLIP ViT-B/16 (both towers) over a sample of the edge space (slow: lowers CLIP)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import backend
import frontend
from backend.carbon import carbon_batch


@pytest.mark.slow
def test_min_carbon_design_is_smaller_than_min_latency_design():
    g = frontend.load("openclip:ViT-B-16", tower="both")
    space = list(itertools.islice(backend.edge_space(), 0, None, 15))  # 216 of the 3,240 configurations
    ests = [backend.estimate(g, backend.edge_hardware(**k)) for k in space]
    col = lambda f: np.array([f(e) for e in ests], dtype=float)  # noqa: E731
    lat, area = col(lambda e: e.latency_s), col(lambda e: e.area_mm2)
    ok = (lat <= 0.05) & np.array([e.feasible and e.hardware.pes <= 16_384 for e in ests])
    assert ok.sum() > 10
    i_l = int(np.argmin(np.where(ok, lat, np.inf)))
    for preset in ("catransformers-code", "paper-california", "catx-default"):
        b = carbon_batch(preset, energy_j=col(lambda e: e.energy_j), latency_s=lat, area_mm2=area, node_nm=22,
                         dram_kind="lpddr4", dram_gb=1.0,
                         leakage_energy_j=col(lambda e: e.energy_by_component_j["leakage"]),
                         leakage_power_w=col(lambda e: e.leakage_power_w))
        total = np.where(ok, b["total_kg"], np.inf)
        i_c = int(np.argmin(total))
        assert area[i_c] < area[i_l], preset
        assert total[i_c] < total[i_l], preset
        assert lat[i_c] > lat[i_l], preset
