"""Hardware descriptions: presets, closed-form peak TOPS and area, knob variants, clear errors on bad input."""

import pytest
import yaml

import backend
from backend import HardwareError, TechDataError
from backend.hardware import Hardware


def test_presets_load_and_peak_tops_is_closed_form():
    assert set(backend.presets.names()) >= {"catransformers-edge", "systolic-edge", "tpu-like", "eyeriss-like",
                                            "gpu-like"}
    hw = backend.presets.get("catransformers-edge")
    assert (hw.node_nm, hw.cores, hw.dram.kind, hw.dram.capacity_gb) == (22, 1, "LPDDR4", 1)
    assert hw.peak_tops == pytest.approx(2 * 256 * 8 * 6.25e8 / 1e12)        # their code's 625 MHz
    assert [lv.name for lv in hw.memory] == ["register_file", "local_buffer", "global_buffer"]
    assert backend.presets.get("tpu-like").peak_tops == pytest.approx(2 * 256 * 256 * 7e8 / 1e12)   # 92 TOPS
    for name, line in backend.presets.describe():
        assert line and "\n" not in line, name
    gpu = backend.presets.get("gpu-like")
    assert gpu.peak_tops == pytest.approx(2 * 108 * 16 * 64 * 1.41e9 / 1e12)   # ~312 TFLOPS like an A100


def test_area_from_tech_constants():
    hw = backend.edge_hardware(cores=2, pe_rows=64, pe_cols=16, local_buffer_kb=128, global_buffer_mb=4)
    a = hw.area_by_component_mm2
    # hand-computed at 22 nm: MAC 600 um2 x 0.25, vector lane 3000 um2 x 0.25, SRAM 0.092 um2/bit / 0.70,
    # register file 4.5 um2/bit x 0.25; the local buffer is split in three (inputs, weights, outputs) of 128 KB each
    assert a["pe_array"] == pytest.approx(307.2e-3)
    assert a["vector"] == pytest.approx(96e-3)
    assert a["register_file"] == pytest.approx(2 * 64 * 16 * 32 * 8 * 4.5 * 0.25 * 1e-6)     # 0.5898 mm2
    assert a["local_buffer"] == pytest.approx(2 * 3 * 128 * 1024 * 8 * 0.092 / 0.70 * 1e-6)
    assert a["global_buffer"] == pytest.approx(4.40999, rel=1e-5)
    assert hw.area_mm2 == pytest.approx(sum(a.values()))


def test_edge_space_has_3240_points_and_knobs_apply():
    pts = list(backend.edge_space())
    assert len(pts) == 3240
    hw = backend.edge_hardware(**pts[-1])
    assert (hw.cores, hw.tensor_unit.pe_rows, hw.tensor_unit.pe_cols) == (4, 256, 64)
    assert hw.local_buffer.size_kb == 1024 and hw.global_buffer.size_mb == 8
    assert hw.vector_unit.lanes == 256


@pytest.mark.parametrize("patch, field", [
    ({"memory": [{"name": "local_buffer", "sharing": "per_core", "size_kb": -4, "bw_words_per_cycle": 64}]},
     "memory[0] (local_buffer).size_kb"),
    ({"memory": [{"name": "glb", "sharing": "per_chip", "size_mb": 0, "bw_words_per_cycle": 64}]},
     "memory[0] (glb).size_mb"),
    ({"dram": {"kind": "GDDR9", "capacity_gb": 1, "bw_words_per_cycle": 64}}, "dram.kind"),
    ({"node_nm": 10}, "node_nm"),
    ({"cores": 0}, "cores"),
    ({"tensor_unit": {"pe_rows": 8, "pe_cols": 8, "dataflows": ["rs"]}}, "tensor_unit.dataflows"),
    ({"tensor_unit": {"pe_rows": 8, "pe_cols": 8, "dataflows": []}}, "tensor_unit.dataflows"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_descriptions_name_the_field(tmp_path, patch, field):
    doc = backend.presets.get("catransformers-edge").model_dump(mode="json")
    doc.update(patch)
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(HardwareError) as e:
        Hardware.from_yaml(p)
    assert str(p) in str(e.value) and field in str(e.value)


def test_missing_file_bad_yaml_and_unknown_preset(tmp_path):
    with pytest.raises(HardwareError, match="no such hardware file"):
        Hardware.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cores: [1,\n")
    with pytest.raises(HardwareError, match="not valid YAML"):
        Hardware.from_yaml(bad)
    with pytest.raises(HardwareError, match="available"):
        backend.presets.get("tpu-v9")
    with pytest.raises(HardwareError, match="unknown hardware knob"):
        backend.edge_hardware(pe_depth=4)


def test_tech_overrides_from_yaml(tmp_path):
    doc = backend.presets.get("catransformers-edge").model_dump(mode="json")
    doc["tech_overrides"] = {"logic.mac_area_um2.8": 1200.0}
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump(doc))
    hw = Hardware.from_yaml(p)
    base = backend.presets.get("catransformers-edge")
    assert hw.area_by_component_mm2["pe_array"] == pytest.approx(2 * base.area_by_component_mm2["pe_array"])
    doc["tech_overrides"] = {"logic.mac_area_um2.99": 1.0}
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(TechDataError, match="mac_area_um2.99") as e:
        Hardware.from_yaml(p)
    assert str(p) in str(e.value)
