"""HBM kinds have sourced embodied-carbon figures, and the carbon model uses them for HBM hardware."""

from __future__ import annotations

import pytest

from backend.carbon import Design, carbon, constants
from backend.carbon.scenario import Dram

HBM_KINDS = ("hbm2", "hbm2e", "hbm3", "hbm3e")


@pytest.mark.parametrize("kind", HBM_KINDS)
def test_hbm_per_gb_follows_its_stated_derivation(kind):
    hbm = constants.lookup("dram", "g_per_gb", kind)
    ddr4 = constants.lookup("dram", "g_per_gb", "ddr4_10nm")
    # the data file's derivation: 3 x ACT's 10 nm-class DDR4 per-GB figure (Micron's HBM3E wafer trade ratio)
    assert hbm.value == pytest.approx(3 * ddr4.value)
    assert hbm.low == pytest.approx(2 * ddr4.low)
    assert hbm.high == pytest.approx(3 * 400)  # LLMCarbon's 0.4 kg/GB DRAM figure x 3
    assert hbm.unit == "g/GB" and "Micron" in hbm.source and "ACT" in hbm.source
    assert hbm.value > constants.lookup("dram", "g_per_gb", "lpddr4").value


@pytest.mark.parametrize("kind, gb", [("hbm2", 40), ("hbm2e", 80), ("hbm3", 80), ("hbm3e", 141)])
def test_carbon_model_charges_hbm_per_gb(kind, gb):
    # an H200-sized memory on a design whose hardware names the HBM kind: DRAM carbon = GB x g/GB / DRAM yield
    d = Design(energy_j=1.0, leakage_energy_j=0.0, leakage_power_w=0.0, latency_s=0.01, area_mm2=100.0, node_nm=5,
               dram_kind=kind, dram_gb=float(gb))
    report = carbon(d, "catx-default")
    assert report.breakdown_kg["dram"] == pytest.approx(gb * 195 / 0.875 / 1000)
    names = {c.name for c in report.assumptions}
    assert f"dram.g_per_gb[{kind}]" in names


def test_scenario_accepts_hbm_kinds_in_any_case():
    assert Dram(kind="HBM3e").kind == "hbm3e"
    assert Dram(kind="hbm2E").kind == "hbm2e"
