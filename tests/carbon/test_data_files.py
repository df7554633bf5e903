"""Every constant in the carbon data files has a unit, a source and an ordered low/value/high."""

from __future__ import annotations

import pytest
import yaml

from backend.carbon import constants, scenarios
from backend.carbon.constants import DATA_DIR, TABLE_FILES, parse_tables
from backend.carbon.errors import CarbonDataError
from backend.carbon.setup import resolve


def _raw_leaves(doc):
    """(name, mapping-with-inherited-fields) for every leaf constant, read straight from YAML (not via the loader)."""
    for table, body in doc.items():
        if table == "scalars":
            for k, v in body.items():
                yield k, v
        else:
            inherited = {k: body[k] for k in ("unit", "source") if k in body}
            for k, v in body["entries"].items():
                yield f"{table}[{k}]", {**inherited, **v}


@pytest.mark.parametrize("stem", TABLE_FILES)
def test_every_constant_has_unit_and_source(stem):
    doc = yaml.safe_load((DATA_DIR / f"{stem}.yaml").read_text())
    leaves = list(_raw_leaves(doc))
    assert leaves
    for name, leaf in leaves:
        assert isinstance(leaf.get("unit"), str) and leaf["unit"].strip(), f"{stem}.yaml {name}: no unit"
        assert isinstance(leaf.get("source"), str) and leaf["source"].strip(), f"{stem}.yaml {name}: no source"
        assert "value" in leaf and "low" in leaf and "high" in leaf, f"{stem}.yaml {name}: needs value, low, high"
        assert leaf["low"] <= leaf["value"] <= leaf["high"], f"{stem}.yaml {name}: low <= value <= high broken"


def test_no_yaml_file_is_left_out_of_the_checked_set():
    on_disk = {p.stem for p in DATA_DIR.glob("*.yaml")}
    assert on_disk == set(TABLE_FILES)


def test_loader_agrees_with_raw_yaml():
    n_raw = sum(len(list(_raw_leaves(yaml.safe_load((DATA_DIR / f"{s}.yaml").read_text())))) for s in TABLE_FILES)
    assert len(constants.all_constants()) == n_raw


@pytest.mark.parametrize("missing", ["unit", "source"])
def test_loader_rejects_constant_without_unit_or_source(missing):
    leaf = {"value": 1.0, "low": 0.5, "high": 2.0, "unit": "g", "source": "x"}
    del leaf[missing]
    with pytest.raises(CarbonDataError, match=f"no {missing}"):
        parse_tables({"scalars": {"thing": leaf}}, "demo", "demo.yaml")


def test_loader_rejects_unordered_range():
    with pytest.raises(CarbonDataError, match="low <= value <= high"):
        parse_tables({"scalars": {"t": {"value": 3, "low": 4, "high": 5, "unit": "g", "source": "s"}}}, "d", "d.yaml")


@pytest.mark.parametrize("name", scenarios.file_presets())
def test_presets_use_only_sourced_constants(name):
    sc = scenarios.get(name)
    setup = resolve(sc, sc.manufacturing.node_nm or 22, sc.manufacturing.dram.kind or "lpddr4")
    for sym, c in setup.params.items():
        assert c.unit and c.source and c.source != "scenario file", f"{name}: {sym} lacks a unit or a real source"
