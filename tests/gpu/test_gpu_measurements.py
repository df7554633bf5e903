"""The H200 measurement file: it covers today's workloads and obeys physical bounds (peak rate, idle power)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

import bench.gpu_workloads as W

ROOT = Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "bench" / "results" / "gpu_h200_measurements.json").read_text())
RECORDS = {r["id"]: r for r in DOC["workloads"]}
H200_FP16_DENSE_FLOPS = 989.4e12  # backend/data/tech/gpus.yaml (H200 datasheet)


def test_header_and_completeness():
    assert DOC["header"]["format"] == "catx-gpu-measurements" and DOC["header"]["version"] == 1
    assert DOC["header"]["dtype"] == "float16" and DOC["header"]["cuda_graphs"] and not DOC["header"]["dry_run"]
    assert DOC["status"] == "complete" and not DOC["errors"] and not DOC["skipped"]
    assert set(RECORDS) == set(W.WORKLOADS)


@pytest.mark.parametrize("wid", sorted(W.WORKLOADS))
def test_record_matches_todays_workload_and_physics(wid):
    r, w = RECORDS[wid], W.WORKLOADS[wid]
    # measured what the workload module builds today (a changed shape needs a new measurement)
    assert (r["macs"], r["split"], r["seq"], r["batch"], r["layers"], r["width"], r["ffn"]) == (
        w.macs(), w.split, w.seq, w.batch, w.arch.layers, w.arch.width, w.arch.ffn)
    assert r["output_finite"] and r["cuda_graph"]
    # no faster than the datasheet's dense fp16 peak; board power never below the idle power measured
    assert 2 * r["macs"] / r["latency_s"] <= H200_FP16_DENSE_FLOPS
    assert r["graph"]["power_w"] >= 0.95 * DOC["idle"]["before"]["power_w"]
    assert r["energy_j"] == pytest.approx(r["graph"]["power_w"] * r["graph"]["mean_latency_s"], rel=1e-6)
    # two independent kernel counts agree: nodes of the captured CUDA graph and the profiler's eager trace
    assert r["graph_nodes"]["by_type"]["kernel"] == r["profile_eager"]["kernels"]
    assert r["graph"]["latency_s"]["p10"] <= r["latency_s"] <= r["graph"]["latency_s"]["p90"]


def test_latency_grows_with_batch_and_sequence():
    by = collections.defaultdict(dict)
    for r in DOC["workloads"]:
        by[(r["arch"], r["seq"])][r["batch"]] = r["latency_s"]
    for key, lat in by.items():
        assert lat[1] < lat[8] < lat[64], key
    gpt = {r["seq"]: r["latency_s"] for r in DOC["workloads"] if r["arch"] == "gpt2_medium" and r["batch"] == 64}
    assert gpt[128] < gpt[512] < gpt[1024] < gpt[2048]


def test_microbenchmarks_sit_under_datasheet_ceilings():
    m = DOC["microbenchmarks"]
    best_gemm = max(g["tflops"] for g in m["gemm"])
    assert 0.5 * 989.4 < best_gemm < 989.4
    best_copy = max(c["tb_per_s"] for c in m["copy"] if c["bytes"] >= 128 * 2 ** 20)  # beyond the 60 MiB L2
    assert 0.5 * 4.8 < best_copy < 4.8
    launch = m["launch"]
    assert 0 < launch["graph_s_per_empty_kernel"] <= launch["graph_s_per_kernel"] < launch["eager_device_s_per_kernel"]


def test_summary_is_rendered_from_the_measurement_file():
    from bench import gpu_summary
    assert gpu_summary.TARGET.read_text() == gpu_summary.render(DOC), "run python bench/gpu_summary.py"
