"""Technology library: values against the published points they come from, and every entry sourced."""

import pytest

from backend.tech import NODES_NM, Tech, load_overrides, tech_for


def test_every_entry_has_value_unit_source():
    rows = tech_for(22).entries()
    assert len(rows) > 40
    for r in rows:
        assert isinstance(r["value"], (int, float)) and r["unit"] and r["source"], r["key"]
        if r["low"] is not None and r["high"] is not None:
            assert r["low"] <= r["value"] <= r["high"], r["key"]


def test_vector_cycle_table_is_sourced_and_matches_catransformers():
    import yaml

    from backend.hardware import DEFAULT_CYCLES_PER_ELEMENT, VECTOR_CYCLES_FILE
    table = yaml.safe_load(VECTOR_CYCLES_FILE.read_text())["cycles_per_element"]
    for fn, e in table.items():
        assert e["value"] > 0 and e["unit"] and e["source"], fn
    # BRIEF §1: their per-element cycles -- softmax 2, erf 15, sigmoid 12, tanh 27, div 10
    assert {k: DEFAULT_CYCLES_PER_ELEMENT[k] for k in ("softmax", "erf", "sigmoid", "tanh", "divide")} == \
        {"softmax": 2, "erf": 15, "sigmoid": 12, "tanh": 27, "divide": 10}


def test_mac_energy_matches_brief_derivations():
    # BRIEF §3: 8-bit MAC ~0.30 pJ at 45 nm, ~0.09 at 22 nm, ~0.03 at 7 nm
    assert tech_for(22).mac_energy_j(8) == pytest.approx(0.09e-12, rel=0.05)
    assert tech_for(7).mac_energy_j(8) == pytest.approx(0.03e-12, rel=0.1)


def test_sram_energy_points():
    t45 = Tech(45)
    # Horowitz: 64-bit access, 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ (fit within 15%)
    for kb, pj in ((8, 10), (32, 20), (1024, 100)):
        assert 64 * t45.sram_energy_j_per_bit(kb * 1024, 64) == pytest.approx(pj * 1e-12, rel=0.15)
    # TPU v4i: 4 MB buffer at 7 nm, 0.25 pJ/bit (within 20%)
    assert tech_for(7).sram_energy_j_per_bit(4 * 2**20, 64) == pytest.approx(0.25e-12, rel=0.2)


def test_scaling_is_monotone_and_sram_cell_flat_at_3nm():
    e = [tech_for(n).mac_energy_j(8) for n in NODES_NM]
    a = [tech_for(n).mac_area_mm2(8) for n in NODES_NM]
    assert e == sorted(e, reverse=True) and a == sorted(a, reverse=True)
    assert tech_for(5).sram_area_mm2(1024) == pytest.approx(tech_for(3).sram_area_mm2(1024))


def test_dram_energy_by_kind_and_override_file(tmp_path):
    t = tech_for(22)
    assert t.dram_energy_j_per_bit("LPDDR4") == pytest.approx(8e-12)
    assert t.dram_energy_j_per_bit("HBM2") < t.dram_energy_j_per_bit("LPDDR4") < t.dram_energy_j_per_bit("DDR4")
    p = tmp_path / "ov.yaml"
    p.write_text("dram.pj_per_bit.LPDDR4: 6.0\n")
    import json
    t2 = tech_for(22, json.dumps(load_overrides(p)))
    assert t2.dram_energy_j_per_bit("LPDDR4") == pytest.approx(6e-12)
