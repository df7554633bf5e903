"""Render bench/results/gpu_h200_measurements.json as the Markdown summary gpu_h200_summary.md.

Run by hand after a new measurement: ``python bench/gpu_summary.py`` (a test checks the two files agree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SOURCE, TARGET = RESULTS / "gpu_h200_measurements.json", RESULTS / "gpu_h200_summary.md"

METHOD = """\
## What was measured, and how

`bench/gpu_measure.py` (needs only torch and NVML's `pynvml`) ran once on a lent H200 through the `device` tool.
Per workload of `bench/gpu_workloads.py`: the module is built on the GPU in fp16, run three times, one inference
is captured in a CUDA graph, and the graph is replayed for about 1 s (at least 10 replays) with CUDA events every
few replays (per-inference median, p10/p90 and spread over up to 200 samples). NVML's total-energy counter is read
around the timed window while a ~50 ms pre-roll keeps the GPU busy, so **energy per inference = average board power
over the window x mean latency**; it is whole-board energy and includes the idle floor (subtract idle W x latency
for the dynamic part). A 20 Hz sampler records SM/memory clocks, NVML power, temperature and clock-event reasons.
Kernels per inference are counted twice, from the captured graph's kernel nodes (CUDA driver API) and from
torch.profiler over one eager inference; the two agree for every workload. Batch-1 workloads are also timed
eagerly (no graph), which shows the launch overhead. Idle power: the energy counter over 5 s before and after the
run, GPU idle with this process's CUDA context open. Attention is `scaled_dot_product_attention` (the profiler
shows cuDNN's fused flash kernel, `cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16`); GEMMs are
cuBLAS (`nvjet_sm90_*`). Microbenchmarks are timed the same way, each inside a CUDA graph.

Rerun: copy `bench/gpu_measure.py` and `bench/gpu_workloads.py` to the GPU machine and run
`PYTHONUNBUFFERED=1 python3 gpu_measure.py --out DIR` (about 3.5 minutes on an H200; `--dry-run` checks every
code path on a CPU). Then `python bench/gpu_summary.py` regenerates this file.
"""


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def header(doc: dict) -> list[str]:
    h, n, idle = doc["header"], doc["header"]["nvml"], doc["idle"]
    return [
        "# H200 measurements: workloads and microbenchmarks", "",
        f"Raw data: `bench/results/gpu_h200_measurements.json` (format `{h['format']}` v{h['version']}).", "",
        "| item | value |", "|---|---|",
        f"| GPU | {h['gpu']}, {h['sm_count']} SMs, L2 {h['l2_cache_bytes'] / 2 ** 20:.0f} MiB, "
        f"{h['gpu_memory_bytes'] / 1e9:.1f} GB, compute capability {h['compute_capability']} |",
        f"| driver, CUDA, torch, cuDNN | {n['driver']}, {h['cuda_runtime']}, {h['torch']}, {h['cudnn']} |",
        f"| clocks (NVML max / application) | SM {n['max_sm_clock_mhz']} / {n['application_sm_clock_mhz']} MHz, "
        f"memory {n['max_mem_clock_mhz']} / {n['application_mem_clock_mhz']} MHz; "
        f"bus {n['memory_bus_width_bits']} bit |",
        f"| power limit | {n['power_limit_w']:.0f} W (default {n['power_limit_default_w']:.0f}, range "
        f"{n['power_limit_min_max_w'][0]:.0f}-{n['power_limit_min_max_w'][1]:.0f}); persistence "
        f"{n['persistence_mode']}, ECC {n['ecc_mode_current']} |",
        f"| idle board power (context open) | {idle['before']['power_w']:.1f} W before, "
        f"{idle['after']['power_w']:.1f} W after (SM clock {idle['before']['sm_clock_mhz']['mean']:.0f} MHz, "
        f"{idle['before']['temperature_c']['mean']:.0f}-{idle['after']['temperature_c']['mean']:.0f} C) |",
        f"| date, command | {h['date_utc'][:19]}Z, `{h['command']}` |",
        f"| run | {len(doc['workloads'])} workloads, {len(doc['errors'])} errors, {doc['elapsed_s']:.0f} s |", ""]


def micro(doc: dict) -> list[str]:
    m = doc["microbenchmarks"]
    out = ["## Microbenchmark ceilings", "", "Dense fp16 GEMM (`torch.mm`, random data):", "",
           "| M x K x N | TFLOP/s | time per GEMM (us) | mean SM clock (MHz) | board power (W) |",
           "|---|---|---|---|---|"]
    out += [f"| {g['m']} x {g['k']} x {g['n']} | {g['tflops']:.1f} | {g['latency_s']['median'] * 1e6:.1f} | "
            f"{_f(g['sm_clock_mhz'], '.0f')} | {_f(g.get('power_w'), '.0f')} |" for g in m["gemm"]]
    out += ["", "Device-to-device copy (`Tensor.copy_`; bytes read + written):", "",
            "| size per tensor | TB/s | time (us) | board power (W) |", "|---|---|---|---|"]
    out += [f"| {c['bytes'] / 2 ** 20:.0f} MiB | {c['tb_per_s']:.2f} | {c['latency_s']['median'] * 1e6:.1f} | "
            f"{_f(c.get('power_w'), '.0f')} |" for c in m["copy"]]
    out += ["", "Softmax / LayerNorm / GELU / add (bytes read + written, one call):", "",
            "| op | shape | GB/s | time (us) |", "|---|---|---|---|"]
    out += [f"| {v['op']} | {'x'.join(map(str, v['shape']))} | {v['gb_per_s']:.0f} | "
            f"{v['latency_s']['median'] * 1e6:.2f} |" for v in m["vector"]]
    out += ["", "Fused attention (`scaled_dot_product_attention`, head dim 64; TFLOP/s counts the dense 4·b·h·n²·d "
            "even when causal):", "", "| batch x heads x seq | causal | TFLOP/s | time (us) |", "|---|---|---|---|"]
    out += [f"| {a['batch']} x {a['heads']} x {a['seq']} | {a['causal']} | {a['tflops_dense']:.1f} | "
            f"{a['latency_s']['median'] * 1e6:.1f} |" for a in m["attention"]]
    la = m["launch"]
    out += ["", "Launch overhead (a 1-element `add_`; `torch.cuda._sleep(0)` as the empty kernel):", "",
            "| what | us |", "|---|---|",
            f"| eager launch, host time per kernel | {la['eager_host_s_per_kernel'] * 1e6:.2f} |",
            f"| eager launch, device time per kernel | {la['eager_device_s_per_kernel'] * 1e6:.2f} |",
            f"| per tiny kernel inside a CUDA graph ({la['graph_kernels_per_graph']} per graph) | "
            f"{la['graph_s_per_kernel'] * 1e6:.2f} |",
            f"| per empty kernel inside a CUDA graph | {la['graph_s_per_empty_kernel'] * 1e6:.2f} |",
            f"| launching a 1-kernel graph | {la['graph_launch_1_kernel_s'] * 1e6:.2f} |", ""]
    return out


def workloads(doc: dict) -> list[str]:
    out = ["## Workloads", "",
           "Latency: median per inference (CUDA graph); p10-p90 in brackets. Energy: whole board per inference. "
           "Eager: batch 1 without a graph. Kernels: per inference.", "",
           "| id | split | seq | batch | GMAC | latency ms [p10-p90] | energy J | power W | TFLOP/s | SM MHz | kernels "
           "| eager ms |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["workloads"]:
        lat = r["graph"]["latency_s"]
        sm = (r["graph"]["nvml"].get("sm_clock_mhz") or {}).get("mean")
        eager = r.get("eager", {}).get("latency_s", {}).get("median")
        out.append(f"| {r['id']} | {r['split']} | {r['seq']} | {r['batch']} | {r['macs'] / 1e9:.2f} | "
                   f"{lat['median'] * 1e3:.3f} [{lat['p10'] * 1e3:.3f}-{lat['p90'] * 1e3:.3f}] | {r['energy_j']:.4f} | "
                   f"{r['graph']['power_w']:.0f} | {r['achieved_tflops']:.1f} | {_f(sm, '.0f')} | "
                   f"{r['profile_eager']['kernels']} | {_f(eager and eager * 1e3, '.3f')} |")
    return out + [""]


def notes(doc: dict) -> list[str]:
    m, ws = doc["microbenchmarks"], doc["workloads"]
    idle_w = doc["idle"]["before"]["power_w"]
    gemm = max(m["gemm"], key=lambda g: g["tflops"])
    hbm = [c for c in m["copy"] if c["bytes"] >= 128 * 2 ** 20]
    add = max((v for v in m["vector"] if v["op"] == "add"), key=lambda v: v["gb_per_s"])
    hot = max(ws, key=lambda r: r["graph"]["power_w"])
    capped = [r for r in ws if r["graph"]["nvml"]["clock_event_reasons_mask"] & 4]
    b1 = {r["id"]: r for r in ws if r["batch"] == 1}
    clip = b1["clip_clip_b16_image_b1"]
    tiny = min(ws, key=lambda r: r["latency_s"])
    return [
        "## Notes for calibration", "",
        f"- **Power cap.** Dense GEMMs and the large workloads run into the "
        f"{doc['header']['nvml']['power_limit_w']:.0f} W "
        f"limit: the SM clock falls from 1980 MHz to about 1400-1650 MHz (NVML clock-event reason 0x4, software "
        f"power cap, in {len(capped)} of {len(ws)} workloads). The best fp16 GEMM reached {gemm['tflops']:.0f} TFLOP/s "
        f"({gemm['m']}x{gemm['k']}x{gemm['n']}, {gemm['tflops'] / 989.4:.0%} of the datasheet's 989.4, which "
        "assumes 1830 MHz); a GPU model needs the power-limited clock, not the boost clock.",
        f"- **HBM.** Copies beyond the L2 reach {max(c['tb_per_s'] for c in hbm):.2f} TB/s (128 MiB); an elementwise "
        f"add over {'x'.join(map(str, add['shape']))} fp16 moves {add['gb_per_s'] / 1e3:.2f} TB/s (read + write), "
        f"{add['gb_per_s'] / 4800:.0%} of the datasheet 4.8 TB/s. `copy_` of tensors of 1 GiB and more ran at only "
        f"{min(c['tb_per_s'] for c in hbm):.2f} TB/s (a torch kernel path, not the memory): use ~4.1-4.4 TB/s.",
        f"- **Idle floor.** The board draws {idle_w:.0f} W idle with a CUDA context open and clocks held at maximum "
        f"(persistence mode). Energy per inference includes it: {tiny['id']} takes {tiny['latency_s'] * 1e6:.0f} us "
        f"and {tiny['energy_j'] * 1e3:.1f} mJ, of which {idle_w * tiny['graph']['mean_latency_s'] * 1e3:.1f} mJ is "
        "the idle floor.",
        f"- **Energy counter.** Windows are ~1 s and the board power computed from them reaches "
        f"{hot['graph']['power_w']:.0f} W ({hot['id']}) against the 700 W limit, while NVML's 1 s power average "
        f"peaks at {hot['graph']['nvml']['power_w_nvml_avg']['max']:.0f} W: take the energy figures as +-5 %.",
        f"- **Batch 1 and launches.** {clip['id']} runs {clip['profile_eager']['kernels']} kernels in "
        f"{clip['latency_s'] * 1e3:.3f} ms as a CUDA graph and {clip['eager']['latency_s']['median'] * 1e3:.2f} ms "
        "eagerly (Python dispatch plus launch per kernel); inside a graph a tiny kernel costs "
        f"{m['launch']['graph_s_per_kernel'] * 1e6:.2f} us and an empty one "
        f"{m['launch']['graph_s_per_empty_kernel'] * 1e6:.2f} us.",
        "- **Caches.** Each timed window replays one inference on the same weights, so towers whose fp16 weights fit "
        "the 60 MiB L2 (the TinyCLIP-8M towers, the small CarbonCLIP text towers) read them from L2, as a serving "
        "loop would.", ""]


def render(doc: dict) -> str:
    return "\n".join(header(doc) + [METHOD] + notes(doc) + micro(doc) + workloads(doc))


def main() -> int:
    TARGET.write_text(render(json.loads(SOURCE.read_text())))
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
