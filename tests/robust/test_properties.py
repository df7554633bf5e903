"""Hypothesis properties: whatever a user puts in a YAML file, an IR document, a study's knobs or a scenario's
numbers, CATX either gives a result whose numbers are finite and >= 0, or raises a CatxError (one short line)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backend
import frontend
import ir
from backend.carbon import carbon
from backend.carbon.scenario import Scenario
from ir.errors import MAX_MESSAGE_CHARS, CatxError
from ir.files import parse_yaml
from search.checks import check
from search.study import load as load_study

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EDGE = backend.presets.get("catransformers-edge")

# -- strategies ------------------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)
knob_values = st.one_of(scalars, st.lists(scalars, min_size=0, max_size=4),
                        st.fixed_dictionaries({"lo": scalars, "hi": scalars}))
yaml_texts = st.one_of(st.text(max_size=200),
                       st.lists(st.sampled_from(["a:", " b", "- ", "&x", "*x", "[", "]", "{", "}", ": ", "\n", "!!",
                                                 "1e999", "? ", "|", "\x00", "\ufeff", "~", "<<: *x"]),
                                max_size=40).map("".join))


def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, path + (i,))
    return out


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


def _finite_non_negative(x: Any) -> bool:
    if isinstance(x, dict):
        return all(_finite_non_negative(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(_finite_non_negative(v) for v in x)
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return math.isfinite(x) and x >= 0
    return True


def _one_line(e: CatxError) -> None:
    text = str(e)
    assert "\n" not in text and len(text) <= MAX_MESSAGE_CHARS


# -- properties ------------------------------------------------------------------------------------------------
@SETTINGS
@given(yaml_texts)
def test_yaml_text_parses_or_is_typed(text):
    try:
        parse_yaml(text)
    except CatxError as e:
        _one_line(e)


IR_DOC = ir.to_dict(frontend.gemm_graph(16, 8, 4))
IR_PATHS = _paths(IR_DOC)


@SETTINGS
@given(st.sampled_from(IR_PATHS), json_values)
def test_ir_document_loads_to_a_valid_graph_or_is_typed(path, value):
    doc = _replace(IR_DOC, path, value)
    try:
        g = ir.from_dict(doc)
        ir.validate(g)
        est = backend.estimate(g, EDGE)       # a valid graph may still be unmappable: a typed MappingError
    except CatxError as e:
        _one_line(e)
        return
    assert _finite_non_negative([est.latency_s, est.energy_j, est.area_mm2, est.macs])


@SETTINGS
@given(st.sampled_from(["cores", "pe_rows", "clock_hz", "node_nm", "dram_kind", "global_buffer_mb", "bogus"]),
       knob_values)
def test_study_knob_values_are_accepted_or_typed(name, value):
    doc = {"name": "p", "model": {"spec": "gemm:8,8,8"}, "objectives": ["carbon_kg"],
           "hardware": {"template": "catransformers-edge", "knobs": {"pe_cols": [4, 8], name: value}}}
    try:
        spec = check(load_study(doc))
    except CatxError as e:
        _one_line(e)
        return
    for k in spec.knobs():                  # every accepted value builds the hardware
        for v in (k.choices() or (k.range.lo, k.range.hi))[:50]:
            if k.name in ("cores", "pe_rows", "pe_cols", "clock_hz", "node_nm", "dram_kind", "global_buffer_mb"):
                EDGE.with_knobs(**{k.name: int(v) if k.is_int_range else v})


SCENARIO = {"name": "p", "deployment": {"lifetime_years": 3, "inferences_per_s": 1, "active_hours_per_day": 6,
                                        "grid": {"region": "california"}}}
EST = backend.estimate(frontend.gemm_graph(64, 64, 64), EDGE)


@SETTINGS
@given(st.sampled_from(["lifetime_years", "inferences_per_s", "total_inferences", "active_hours_per_day",
                        "active_start_hour", "power_delivery_efficiency"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10, max_value=10**400)))
def test_scenario_numbers_give_finite_carbon_or_are_typed(field, value):
    doc = copy.deepcopy(SCENARIO)
    doc["deployment"][field] = value
    if field == "total_inferences":
        del doc["deployment"]["inferences_per_s"]
    try:
        rep = carbon(EST, Scenario.from_dict(doc))
    except CatxError as e:
        _one_line(e)
        return
    d = rep.to_dict()
    assert _finite_non_negative({k: v for k, v in d.items() if k != "assumptions"})


@pytest.mark.parametrize("text", ["a: &a [*a]", "x: !!python/name:os.system", "[" * 200, "a: " + "9" * 5000])
def test_known_hostile_yaml(text):
    with pytest.raises(CatxError):
        parse_yaml(text)
