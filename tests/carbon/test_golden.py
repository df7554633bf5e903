"""Golden values: CATransformers' carbon formula and constants, reproduced by the catransformers-code preset."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.carbon import Design, carbon, scenarios

CODE = "catransformers-code"


def their_carbon_kg(energy_j: float, area_um2: float) -> float:
    """CATransformers' code, written out with its literal constants (carbon_wrapper.py + carbon_estimator.py).

    chip: ACT Fab_Logic(gpa 95, loc_taiwan 642, 22 nm, yield 0.875) x area in cm2 (um2 / 1e8); DRAM: ACT Fab_DRAM
    lpddr3_20nm 184 g/GB / 0.875 x 1 GB; operational: J / 3.6e6 x 68 g/kWh / 1000 x 30e6.
    """
    cpa = (642 * 1.077 + 188.28 + 500) / 0.875
    chip_kg = area_um2 / 1e8 * cpa / 1000
    dram_kg = 184 / 0.875 * 1 / 1000
    op_kg = energy_j / 3.6e6 * 68 / 1000
    return op_kg * 30_000_000 + chip_kg + dram_kg


def _design(energy_j: float, area_mm2: float, **kw) -> Design:
    base = dict(energy_j=energy_j, leakage_energy_j=0.0, leakage_power_w=0.0, latency_s=0.01, area_mm2=area_mm2,
                node_nm=22, dram_kind="lpddr4", dram_gb=4.0)
    return Design(**{**base, **kw})


def test_cpa_at_22nm_is_1576_8():
    r = carbon(_design(0.01, 100.0), CODE)
    assert r.cpa_g_per_cm2 == pytest.approx(1576.8, abs=0.05)
    assert r.breakdown_kg["die"] == pytest.approx(1.5768, abs=5e-5)  # 1 cm2


def test_one_gb_dram_is_0_2103_kg():
    r = carbon(_design(0.01, 10.0), CODE)  # the preset fixes 1 GB LPDDR3-20nm whatever the hardware says
    assert r.design.dram_gb == 1.0 and r.design.dram_kind == "lpddr3_20nm"
    assert r.breakdown_kg["dram"] == pytest.approx(0.2103, abs=5e-5)


def test_operational_is_energy_times_30e6_times_intensity():
    e = 0.0123
    r = carbon(_design(e, 10.0), CODE)
    assert r.inferences == 30_000_000
    assert r.operational_kg == pytest.approx(e * 30e6 / 3.6e6 * 68 / 1000, rel=1e-12)
    assert r.grid_g_per_kwh == 68


def test_leakage_is_left_out_like_their_code():
    with_leak = carbon(_design(0.012, 10.0, leakage_energy_j=0.002, leakage_power_w=0.1), CODE)
    assert with_leak.operational_kg == pytest.approx(0.010 * 30e6 / 3.6e6 * 68 / 1000, rel=1e-12)
    assert with_leak.breakdown_kg["leakage"] == 0 and with_leak.breakdown_kg["idle"] == 0


@settings(max_examples=60, deadline=None)
@given(macs=st.integers(1_000_000, 50_000_000_000), accesses_pj=st.floats(0, 5e9),
       area_um2=st.floats(1e5, 3.2e7))
def test_their_formula_end_to_end_with_2_2_pj_per_mac(macs, accesses_pj, area_um2):
    energy_j = macs * 2.2e-12 + accesses_pj * 1e-12  # their energy: MACs x 2.2 pJ + memory accesses
    r = carbon(_design(energy_j, area_um2 / 1e6), CODE)
    assert r.total_kg == pytest.approx(their_carbon_kg(energy_j, area_um2), rel=1e-9)


def test_clip_b16_scale_numbers():
    # ViT-B/16 image (197 tokens) + text (77 tokens) towers are ~20.6 G MACs; at 2.2 pJ, 45.3 mJ per inference:
    # 45.32 mJ x 30e6 = 0.3777 kWh x 68 g/kWh = 25.68 g.
    e = 20.6e9 * 2.2e-12
    r = carbon(_design(e, 20.0), CODE)
    assert r.operational_kg == pytest.approx(0.02568, abs=1e-5)
    assert r.total_kg == pytest.approx(their_carbon_kg(e, 20.0e6), rel=1e-12)


def test_paper_setting_inference_count():
    sc = scenarios.get("paper-california")
    assert sc.deployment.inferences == pytest.approx(3 * 365 * 6 * 3600)  # 23.65 M as the paper says
    r = carbon(_design(0.01, 10.0), sc)
    assert r.operational_kg == pytest.approx(0.01 * 23_652_000 / 3.6e6 * 224 / 1000, rel=1e-12)
    assert math.isclose(r.cpa_g_per_cm2, 1576.816, rel_tol=1e-6)
