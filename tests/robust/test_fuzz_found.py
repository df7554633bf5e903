"""Defects the fuzz suite (bench/fuzz.py) found, one test each: all typed errors now, none before."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

import frontend
import search
from backend import Hardware, HardwareError, TechDataError
from backend.tech import apply_overrides
from ir.errors import CatxError
from search.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from searchkit import gemm_study  # noqa: E402


def test_nul_in_yaml_is_typed(tmp_path):
    """PyYAML's reader raised ReaderError while the loader was being built, outside any handler."""
    p = tmp_path / "hw.yaml"
    p.write_bytes(b"name: x\x00\n")
    with pytest.raises(HardwareError, match="not valid YAML.*special characters"):
        Hardware.from_yaml(p)


def test_equal_knob_values_are_one_value(tmp_path):
    """[32, 64, 64.0] passed the study's repeat check (by repr) and then broke ConfigSpace."""
    doc = gemm_study()
    doc["hardware"]["knobs"]["pe_rows"] = [32, 64, 64.0]
    with pytest.raises(search.StudyError, match="pe_rows: values repeat"):
        search.load(doc)


def test_store_rows_with_unknown_fidelity_are_refused(tmp_path):
    """A row with fidelity 'weird' was invisible to resume, which then ran the trial again under a new id."""
    doc = gemm_study(optimizer={"kind": "random", "trials": 4, "seed": 1})
    search.run(doc, out=tmp_path)
    con = sqlite3.connect(tmp_path / "study.sqlite")
    con.execute("UPDATE trials SET fidelity = 'weird' WHERE id = 2")
    con.commit()
    con.close()
    with pytest.raises(search.StoreError, match=r"trials \[2\] have a fidelity other than low/high"):
        search.run(doc, out=tmp_path, resume=True, trials=6)


@pytest.mark.parametrize("spec,message", [(":", "cannot import module ''"),
                                          ("json:dumps", r"dumps\(\) raised TypeError")])
def test_module_callable_failures_are_typed(spec, message):
    with pytest.raises(frontend.ModelSpecError, match=message):
        frontend.load(spec)


@pytest.mark.parametrize("argv", [["lower", "gemm:8,8,8", "--json", "{dir}"],
                                  ["estimate", "gemm:8,8,8", "--hardware", "gpu-like", "--json", "{dir}"],
                                  ["carbon", "gemm:8,8,8", "--hardware", "catransformers-edge", "--json",
                                   "{dir}/no/such.json"]])
def test_json_output_that_cannot_be_written(tmp_path, capsys, argv):
    argv = [a.format(dir=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the" in err and str(tmp_path) in err


@pytest.mark.parametrize("argv", [["estimate", "gemm:8,8,8", "--hardware", "gpu-like", "--top", "-1"],
                                  ["results", ".", "--limit", "-1"]])
def test_negative_counts_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "must be >= 0, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("override,message", [
    ({"logic.mac_energy_pj.8": {"value": 0.2, "extra": -1}}, r"unknown keys \['extra'\]"),
    ({"logic.mac_energy_pj.8": {"value": 0.2, "low": -1}}, "low must be a finite number >= 0, got -1"),
    ({"logic.mac_energy_pj.8": float("inf")}, "value must be a finite number >= 0, got inf")])
def test_tech_overrides_hold_finite_non_negative_numbers(override, message):
    from backend.tech import _base
    with pytest.raises(TechDataError, match=message):
        apply_overrides(_base(), override)


def test_onnx_input_without_element_type(tmp_path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh
    g = h.make_graph([h.make_node("MatMul", ["x", "W"], ["y"], name="mm")], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [2, 4])], [h.make_tensor_value_info("y", T.FLOAT, [2, 3])],
                     [nh.from_array(np.ones((4, 3), "float32"), "W")])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.graph.input[0].type.tensor_type.elem_type = 0
    p = tmp_path / "m.onnx"
    onnx.save(m, p)
    with pytest.raises(CatxError, match="input 'x' has no element type"):
        frontend.load_onnx(p)


@pytest.mark.parametrize("field,value", [("tile_sizes", []), ("tile_sizes", [0, 64]), ("precisions", [])])
def test_gpu_tile_and_precision_lists_must_hold_a_value(field, value):
    """Fuzz (after the GPU presets landed): h100 with tensor_unit.tile_sizes emptied estimated inf latency."""
    import backend
    doc = backend.presets.get("h100").model_dump(mode="json")
    doc["tensor_unit"][field] = value
    with pytest.raises(HardwareError, match=field):
        Hardware.from_dict(doc, "h100-mutated.yaml")


def test_attention_op_without_its_inputs_is_refused():
    """Fuzz: an IR document whose attention op lost an input raised IndexError deep in the backend."""
    import ir
    g = frontend.load("frontend.zoo:gpt2")
    doc = ir.to_dict(g)
    att = next(o for o in doc["ops"] if o["kind"] == "attention")
    del att["inputs"][0]
    with pytest.raises(ir.IRValidationError, match="query, key and value"):
        ir.from_dict(doc, "g.json")
    doc = ir.to_dict(frontend.gemm_graph(8, 8, 8))
    del doc["ops"][0]["inputs"][0]
    with pytest.raises(ir.IRValidationError, match="a contraction multiplies two operands, has 1 input"):
        ir.from_dict(doc, "g.json")
