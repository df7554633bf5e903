"""``catx estimate`` and ``catx inspect`` end to end on small specs."""

import json

import pytest
from backend_graphs import tower

import ir
from search.cli import main


def test_estimate_prints_totals_and_writes_json(tmp_path, capsys):
    out = tmp_path / "est.json"
    rc = main(["estimate", "gemm:64,128,256", "--hardware", "catransformers-edge", "--knob", "cores=2",
               "--target", "latency", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "latency" in text and "mm2" in text and "matmul" in text
    d = json.loads(out.read_text())
    assert d["hardware"]["cores"] == 2 and d["target"] == "latency" and d["latency_s"] > 0


def test_inspect_shows_loop_nest_from_ir_file(tmp_path, capsys):
    p = tmp_path / "t.json"
    ir.save(tower("tiny", 16, 128, 2, 256, 2), p)
    assert main(["inspect", str(p), "--hw", "gpu-like", "--op", "fc1"]) == 0
    text = capsys.readouterr().out
    assert "loop nest:" in text and "systolic OS" in text and '"dataflow": "os"' in text


def test_errors_are_one_line(capsys):
    assert main(["estimate", "gemm:8,8,8", "--hardware", "no-such-chip"]) == 2
    assert "neither a hardware preset" in capsys.readouterr().err
    assert main(["inspect", "gemm:8,8,8", "--hardware", "gpu-like", "--op", "nope"]) == 2
    assert "no op named 'nope'" in capsys.readouterr().err
    assert main(["estimate", "gemm:8,8,8", "--hardware", "gpu-like", "--knob", "cores=-1"]) == 2
    assert "cores" in capsys.readouterr().err


def test_tech_override_file_changes_energy(tmp_path, capsys):
    ov = tmp_path / "ov.yaml"
    ov.write_text("dram.pj_per_bit.LPDDR4: 16.0\n")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["estimate", "gemm:64,64,64", "--hw", "catransformers-edge", "--json", str(a)]) == 0
    assert main(["estimate", "gemm:64,64,64", "--hw", "catransformers-edge", "--tech", str(ov), "--json", str(b)]) == 0
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert db["energy_by_component_j"]["dram"] == pytest.approx(2 * da["energy_by_component_j"]["dram"])
    assert db["hardware"]["tech_overrides"] == {"dram.pj_per_bit.LPDDR4": 16.0}


def test_presets_lists_every_preset_one_line_each(capsys):
    import backend
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == backend.presets.names()
    tpu = next(ln for ln in lines if ln.startswith("tpu-like"))
    assert "91.75 TOPS" in tpu and "weight_registers > accumulators > weight_fifo > unified_buffer > dram" in tpu
    assert main(["presets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(backend.presets.names())
    assert main(["presets", "--show", "eyeriss-like"]) == 0
    assert "scratchpads" in capsys.readouterr().out
    assert main(["presets", "--show", "nope"]) == 2
