"""GPU datasheet file: every entry sourced, the datasheet rates follow from SMs x MACs x clock, and the H200's
measured entries equal the measurement file they cite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GPUS = yaml.safe_load((ROOT / "backend" / "data" / "tech" / "gpus.yaml").read_text())
MEASURED = json.loads((ROOT / "bench" / "results" / "gpu_h200_measurements.json").read_text())
PARTS = sorted(GPUS["gpus"])
# JEDEC / vendor top pin rates per HBM generation (Gb/s): HBM2 2.4, HBM2e 3.6, HBM3 6.4, HBM3e 9.8
PIN_RATE_MAX_GBPS = {"HBM2": 2.5, "HBM2e": 3.6, "HBM3": 6.4, "HBM3e": 9.8}


def _v(part: str, key: str) -> float:
    return GPUS["gpus"][part][key]["value"]


@pytest.mark.parametrize("part", PARTS)
def test_every_entry_is_sourced_and_ordered(part):
    for key, e in GPUS["gpus"][part].items():
        assert e["source"] in GPUS["sources"], (part, key)
        if isinstance(e["value"], (int, float)):
            assert isinstance(e.get("unit"), str) and e["unit"], (part, key)
            assert e["low"] <= e["value"] <= e["high"], (part, key)


@pytest.mark.parametrize("part", PARTS)
def test_datasheet_rates_follow_from_sms_macs_and_clock(part):
    sms, clock_hz = _v(part, "sm_count"), _v(part, "tensor_clock_mhz") * 1e6
    assert 2 * sms * _v(part, "fp16_macs_per_sm_per_cycle") * clock_hz == pytest.approx(
        _v(part, "fp16_tensor_tflops") * 1e12, rel=2e-3)
    assert 2 * sms * _v(part, "int8_macs_per_sm_per_cycle") * clock_hz == pytest.approx(
        _v(part, "int8_tensor_tops") * 1e12, rel=2e-3)
    assert 2 * sms * _v(part, "fp32_cores_per_sm") * _v(part, "boost_clock_mhz") * 1e6 == pytest.approx(
        _v(part, "fp32_tflops") * 1e12, rel=2e-3)
    assert _v(part, "bf16_tensor_tflops") == _v(part, "fp16_tensor_tflops") == 2 * _v(part, "tf32_tensor_tflops")


@pytest.mark.parametrize("part", PARTS)
def test_memory_bandwidth_needs_a_pin_rate_its_hbm_generation_has(part):
    kind = GPUS["gpus"][part]["memory_kind"]["value"]
    gbps_per_pin = _v(part, "memory_bandwidth_gb_per_s") * 8 / _v(part, "memory_bus_width_bits")
    assert 1.0 < gbps_per_pin <= PIN_RATE_MAX_GBPS[kind], (part, gbps_per_pin)
    assert _v(part, "memory_bus_width_bits") <= 1024 * _v(part, "hbm_stacks")


def test_fp8_tensor_cores_only_on_hopper():
    for part in PARTS:
        hopper = part.startswith("h")
        assert ("fp8" in GPUS["gpus"][part]["tensor_precisions"]["value"]) == hopper
        assert ("fp8_tensor_tflops" in GPUS["gpus"][part]) == hopper


def test_h200_measured_entries_equal_the_measurement_file():
    h, nvml, idle = MEASURED["header"], MEASURED["header"]["nvml"], MEASURED["idle"]
    part = "h200_sxm_141gb"
    assert h["gpu"] == "NVIDIA H200"
    assert _v(part, "sm_count") == h["sm_count"]
    assert _v(part, "l2_cache_mb") == h["l2_cache_bytes"] / 2 ** 20
    assert _v(part, "boost_clock_mhz") == nvml["max_sm_clock_mhz"]
    assert _v(part, "memory_bus_width_bits") == nvml["memory_bus_width_bits"]
    assert _v(part, "tdp_w") == nvml["power_limit_default_w"]
    before, after = idle["before"]["power_w"], idle["after"]["power_w"]
    e = GPUS["gpus"][part]["idle_power_w"]
    assert e["low"] == pytest.approx(min(before, after), abs=0.05)
    assert e["high"] == pytest.approx(max(before, after), abs=0.05)
    # the bus width and the memory clock NVML reports give the datasheet bandwidth (double data rate)
    assert nvml["memory_bus_width_bits"] * 2 * nvml["max_mem_clock_mhz"] * 1e6 / 8 == pytest.approx(4.8e12, rel=0.01)
