"""The GPU presets against the datasheet data they cite (backend/data/tech/gpus.yaml): peak rate, memory sizes and
bandwidths, precisions (a typed error otherwise), and the h200 preset's fitted constants against their data file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import backend
from backend import HardwareError

ROOT = Path(__file__).resolve().parents[2]
GPUS = yaml.safe_load((ROOT / "backend" / "data" / "tech" / "gpus.yaml").read_text())["gpus"]
MEASURED = json.loads((ROOT / "bench" / "results" / "gpu_h200_measurements.json").read_text())
FITTED = yaml.safe_load((ROOT / "backend" / "data" / "tech" / "gpu_calibration.yaml").read_text())["h200"]
BOARDS = {"a100": "a100_sxm4_80gb", "h100": "h100_sxm5_80gb", "h200": "h200_sxm_141gb"}
MIB, KIB = 2 ** 20, 2 ** 10


def sheet(preset: str, key: str):
    return GPUS[BOARDS[preset]][key]["value"]


def test_presets_are_listed():
    assert {"a100", "h100", "h200", "gpu-like"} <= set(backend.presets.names())
    for name in BOARDS:
        assert backend.presets.get(name).description


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_peak_rate_is_the_datasheets_dense_fp16_rate(name):
    hw = backend.presets.get(name)
    assert hw.cores == sheet(name, "sm_count")
    assert hw.tensor_unit.pe_rows * hw.tensor_unit.pe_cols == sheet(name, "fp16_macs_per_sm_per_cycle")
    at_sheet_clock = hw.with_knobs(clock_hz=sheet(name, "tensor_clock_mhz") * 1e6)
    assert at_sheet_clock.peak_tops == pytest.approx(sheet(name, "fp16_tensor_tflops"), rel=2e-3)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_memory_levels_follow_the_datasheet(name):
    hw = backend.presets.get(name)
    regs, smem, l2 = hw.memory
    assert regs.sharing == "per_pe" and smem.sharing == "per_core" and l2.sharing == "per_chip"
    assert regs.capacity_bytes * hw.tensor_unit.pe_rows * hw.tensor_unit.pe_cols == \
        sheet(name, "register_file_kb_per_sm") * KIB
    assert smem.capacity_bytes == sheet(name, "shared_memory_max_kb_per_sm") * KIB
    assert smem.capacity_bytes <= sheet(name, "l1_shared_kb_per_sm") * KIB
    assert l2.capacity_bytes == sheet(name, "l2_cache_mb") * MIB
    assert hw.dram.capacity_gb == sheet(name, "memory_gb")
    assert hw.dram.kind.lower() == sheet(name, "memory_kind").lower()
    assert hw.vector_unit.lanes == sheet(name, "fp32_cores_per_sm")
    assert hw.tensor_unit.core_split == "tiles"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_on_chip_bandwidths_are_the_data_files(name):
    hw = backend.presets.get(name)
    _, smem, l2 = hw.memory
    word_bytes = hw.word_bits / 8
    assert smem.bw_words_per_cycle * word_bytes == sheet(name, "shared_memory_bytes_per_cycle_per_sm")
    assert l2.bw_words_per_cycle * word_bytes == sheet(name, "l2_bytes_per_cycle")


@pytest.mark.parametrize("name", ["a100", "h100"])
def test_datasheet_presets_take_time_per_kernel_and_static_power_from_the_data_file(name):
    hw = backend.presets.get(name)
    assert hw.kernel_launch_s == sheet(name, "kernel_time_s")
    assert hw.static_power_w == sheet(name, "static_power_w")


def test_h200_time_per_kernel_entry_is_the_measured_one():
    launch = MEASURED["microbenchmarks"]["launch"]
    entry = GPUS[BOARDS["h200"]]["kernel_time_s"]
    assert entry["value"] == pytest.approx(launch["graph_s_per_kernel"], abs=0.005e-6)
    assert entry["low"] == pytest.approx(launch["graph_s_per_empty_kernel"], abs=0.005e-6)


def test_calibrations_datasheet_starting_point_is_the_data_file():
    stored = json.loads((ROOT / "bench" / "results" / "gpu_calibration.json").read_text())["constants"]
    assert stored["clock_hz"]["datasheet"] == sheet("h200", "tensor_clock_mhz") * 1e6
    assert stored["hbm_bytes_per_s"]["datasheet"] == sheet("h200", "memory_bandwidth_gb_per_s") * 1e9
    assert stored["kernel_launch_s"]["datasheet"] == sheet("h200", "kernel_time_s")
    assert stored["static_power_w"]["datasheet"] == sheet("h200", "idle_power_w")


@pytest.mark.parametrize("name", ["a100", "h100"])
def test_datasheet_presets_keep_the_datasheet_hbm_bandwidth(name):
    hw = backend.presets.get(name)
    bytes_per_s = hw.dram.bw_words_per_cycle * hw.word_bits / 8 * hw.clock_hz
    assert bytes_per_s == pytest.approx(sheet(name, "memory_bandwidth_gb_per_s") * 1e9, rel=2e-3)


def test_unsupported_precision_is_a_typed_error():
    for name in ("h100", "h200"):
        hw = backend.presets.get(name)
        with pytest.raises(HardwareError, match=r"4-bit weights .*not a precision.*supported: \[8, 16\]"):
            hw.with_knobs(**{"bits.weight": 4, "bits.activation": 4})
        assert hw.with_knobs(**{"bits.weight": 8, "bits.activation": 8}).bits.weight == 8     # fp8 / int8
    assert backend.presets.get("a100").with_knobs(**{"bits.weight": 4}).bits.weight == 4    # Ampere has int4


def test_h200_carries_the_fitted_constants_within_their_ranges():
    import bench.gpu_calibrate as cal

    got = cal.constants_of(backend.presets.get("h200"))
    assert set(got) == set(FITTED)
    for key, entry in FITTED.items():
        assert got[key] == pytest.approx(entry["value"], rel=1e-4), key
        assert entry["low"] <= entry["value"] <= entry["high"], key
        assert entry["source"].startswith("fitted by bench/gpu_calibrate.py on the fit split")
    # and the values are physical: a clock no higher than the board's maximum, HBM no faster than the datasheet,
    # static power no lower than a third of the measured idle floor
    assert got["clock_hz"] <= sheet("h200", "boost_clock_mhz") * 1e6
    assert got["hbm_bytes_per_s"] <= sheet("h200", "memory_bandwidth_gb_per_s") * 1e9
    assert got["static_power_w"] >= sheet("h200", "idle_power_w") / 3
