"""Measure the GPU workloads (fp16, CUDA graphs, CUDA events, NVML energy) and microbenchmark ceilings; one JSON.

Run on a GPU machine with only torch (and NVML's ``pynvml``) installed, beside ``gpu_workloads.py``::

    PYTHONUNBUFFERED=1 python3 gpu_measure.py --out DIR [--budget-s 480] [--only REGEX]
    python3 gpu_measure.py --dry-run --out /tmp/x      # CPU, one layer, batch 1: exercises every code path

Per workload: build in fp16 on the GPU, three warm-up runs, capture one inference in a CUDA graph, replay it
for a window of ``--window-s`` seconds (at least ``--min-iters`` replays) with CUDA events every few replays
(median and spread of the per-inference time); NVML's total-energy counter is read around the timed window while
the GPU is kept busy by a pre-roll, so energy per inference = average board power x mean latency. A sampler
thread reads SM/memory clocks, power and temperature during the window. Kernels per inference come from the
captured graph's nodes (CUDA driver API) and from torch.profiler over one eager inference (kernel names and
times). Batch-1 workloads are also timed eagerly (no graph) to show launch overhead. Idle board power is measured
before and after (GPU idle, CUDA context open). Results are checkpointed to DIR/gpu_h200_measurements.json after
every step, so a timeout still leaves data.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_workloads  # noqa: E402

FORMAT, VERSION = "catx-gpu-measurements", 1
RESULT_NAME = "gpu_h200_measurements.json"


# ---- NVML (optional: absent on the CPU) ---------------------------------------------------------------------

class Nvml:
    """Thin NVML reader; every method returns None when NVML or the query is unavailable."""

    def __init__(self, index: int = 0):
        self.handle = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nv = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as e:  # no NVML on this machine
            self.error = f"{type(e).__name__}: {e}"

    def _q(self, fn: str, *args):
        if self.handle is None:
            return None
        try:
            return getattr(self.nv, fn)(self.handle, *args)
        except Exception:
            return None

    def energy_j(self) -> float | None:
        mj = self._q("nvmlDeviceGetTotalEnergyConsumption")
        return None if mj is None else mj / 1e3

    def power_w(self) -> float | None:
        mw = self._q("nvmlDeviceGetPowerUsage")
        return None if mw is None else mw / 1e3

    def clocks_mhz(self) -> tuple[float | None, float | None]:
        if self.handle is None:
            return None, None
        return self._q("nvmlDeviceGetClockInfo", self.nv.NVML_CLOCK_SM), self._q(
            "nvmlDeviceGetClockInfo", self.nv.NVML_CLOCK_MEM)

    def temperature_c(self) -> float | None:
        if self.handle is None:
            return None
        return self._q("nvmlDeviceGetTemperature", self.nv.NVML_TEMPERATURE_GPU)

    def throttle(self) -> int | None:
        for fn in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
            v = self._q(fn)
            if v is not None:
                return int(v)
        return None

    def header(self) -> dict:
        if self.handle is None:
            return {"nvml": getattr(self, "error", "unavailable")}
        nv, q = self.nv, self._q

        def dec(v):
            return v.decode() if isinstance(v, bytes) else v

        def mw(v):
            return None if v is None else v / 1e3

        constraints = q("nvmlDeviceGetPowerManagementLimitConstraints")
        return {
            "name": dec(q("nvmlDeviceGetName")),
            "driver": dec(nv.nvmlSystemGetDriverVersion()),
            "nvml_version": dec(nv.nvmlSystemGetNVMLVersion()),
            "cuda_driver_version": nv.nvmlSystemGetCudaDriverVersion(),
            "vbios": dec(q("nvmlDeviceGetVbiosVersion")),
            "power_limit_w": mw(q("nvmlDeviceGetPowerManagementLimit")),
            "power_limit_enforced_w": mw(q("nvmlDeviceGetEnforcedPowerLimit")),
            "power_limit_default_w": mw(q("nvmlDeviceGetPowerManagementDefaultLimit")),
            "power_limit_min_max_w": None if constraints is None else [c / 1e3 for c in constraints],
            "max_sm_clock_mhz": q("nvmlDeviceGetMaxClockInfo", nv.NVML_CLOCK_SM),
            "max_mem_clock_mhz": q("nvmlDeviceGetMaxClockInfo", nv.NVML_CLOCK_MEM),
            "application_sm_clock_mhz": q("nvmlDeviceGetApplicationsClock", nv.NVML_CLOCK_SM),
            "application_mem_clock_mhz": q("nvmlDeviceGetApplicationsClock", nv.NVML_CLOCK_MEM),
            "default_application_sm_clock_mhz": q("nvmlDeviceGetDefaultApplicationsClock", nv.NVML_CLOCK_SM),
            "memory_bus_width_bits": q("nvmlDeviceGetMemoryBusWidth"),
            "memory_total_bytes": getattr(q("nvmlDeviceGetMemoryInfo"), "total", None),
            "pstate": q("nvmlDeviceGetPerformanceState"),
            "persistence_mode": q("nvmlDeviceGetPersistenceMode"),
            "ecc_mode_current": (q("nvmlDeviceGetEccMode") or [None])[0],
            "temperature_c": self.temperature_c(),
        }


class Sampler:
    """Background thread sampling SM/memory clock, power and temperature every ``period_s`` while active."""

    def __init__(self, nvml: Nvml, period_s: float = 0.05):
        self.nvml, self.period_s, self.rows, self._stop = nvml, period_s, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            sm, mem = self.nvml.clocks_mhz()
            self.rows.append((sm, mem, self.nvml.power_w(), self.nvml.temperature_c(), self.nvml.throttle()))
            self._stop.wait(self.period_s)

    def __enter__(self):
        if self.nvml.handle is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def summary(self) -> dict:
        def stats(i):
            v = [r[i] for r in self.rows if r[i] is not None]
            return None if not v else {"mean": statistics.fmean(v), "min": min(v), "max": max(v)}
        reasons = 0
        for r in self.rows:
            reasons |= r[4] or 0
        return {"samples": len(self.rows), "sm_clock_mhz": stats(0), "mem_clock_mhz": stats(1),
                "power_w_nvml_avg": stats(2), "temperature_c": stats(3), "clock_event_reasons_mask": reasons}


# ---- timing ---------------------------------------------------------------------------------------------------

class Timer:
    """CUDA events on a GPU, host clock on the CPU (dry runs)."""

    def __init__(self, cuda: bool):
        self.cuda = cuda

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def elapsed_s(self, a, b) -> float:
        return a.elapsed_time(b) / 1e3 if self.cuda else b - a


def spread(samples: list[float]) -> dict:
    s = sorted(samples)

    def pct(p):
        k = (len(s) - 1) * p
        lo, hi = math.floor(k), math.ceil(k)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)
    return {"median": pct(0.5), "mean": statistics.fmean(s), "p10": pct(0.1), "p90": pct(0.9), "min": s[0],
            "max": s[-1], "std": statistics.pstdev(s), "samples": len(s)}


def make_runner(fn, cuda: bool, graphs: bool):
    """Warm ``fn`` up and return (replay, graph): a CUDA-graph replay on a GPU, ``fn`` itself otherwise."""
    if not (cuda and graphs):
        for _ in range(2):
            fn()
        return fn, None
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    try:
        g = torch.cuda.CUDAGraph(keep_graph=True)
    except TypeError:
        g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    g.replay()
    torch.cuda.synchronize()
    return g.replay, g


def timed_window(run, timer: Timer, nvml: Nvml, window_s: float, min_iters: int, max_iters: int = 200000,
                 max_marks: int = 200) -> dict:
    """Replay ``run`` for about ``window_s`` seconds; per-call latency spread, average power, energy per call."""
    t = timer.mark()
    for _ in range(3):
        run()
    t2 = timer.mark()
    timer.sync()
    est_s = max(timer.elapsed_s(t, t2) / 3, 1e-7)
    iters = int(min(max(min_iters, math.ceil(window_s / est_s)), max_iters))
    every = max(1, math.ceil(iters / max_marks))
    iters = every * math.ceil(iters / every)
    for _ in range(max(1, math.ceil(0.05 / est_s))):  # pre-roll (~50 ms): the GPU is busy when energy is read
        run()
    with Sampler(nvml) as sampler:
        e0, w0 = nvml.energy_j(), time.perf_counter()
        marks = [timer.mark()]
        for i in range(iters):
            run()
            if (i + 1) % every == 0:
                marks.append(timer.mark())
        timer.sync()
        e1, w1 = nvml.energy_j(), time.perf_counter()
    samples = [timer.elapsed_s(a, b) / every for a, b in zip(marks, marks[1:])]
    total_s = timer.elapsed_s(marks[0], marks[-1])
    out = {"latency_s": spread(samples), "mean_latency_s": total_s / iters, "iterations": iters,
           "calls_per_sample": every, "window_s": total_s, "wall_window_s": w1 - w0}
    if e0 is not None and e1 is not None and w1 > w0:
        power = (e1 - e0) / (w1 - w0)
        out.update(power_w=power, energy_window_j=e1 - e0, energy_j_per_call=power * total_s / iters)
    out["nvml"] = sampler.summary()
    return out


# ---- kernels per inference -----------------------------------------------------------------------------------

NODE_TYPES = ("kernel", "memcpy", "memset", "host", "graph", "empty", "wait_event", "event_record",
              "ext_semas_signal", "ext_semas_wait", "mem_alloc", "mem_free", "batch_mem_op", "conditional")


def graph_nodes(g) -> dict | None:
    """Node counts of a captured CUDA graph by node type (CUDA driver API through ctypes), or None."""
    if g is None:
        return None
    try:
        import ctypes
        cu = ctypes.CDLL("libcuda.so.1")
        raw = ctypes.c_void_p(int(g.raw_cuda_graph()))
        n = ctypes.c_size_t(0)
        if cu.cuGraphGetNodes(raw, None, ctypes.byref(n)) != 0:
            return {"error": "cuGraphGetNodes failed"}
        nodes = (ctypes.c_void_p * n.value)()
        cu.cuGraphGetNodes(raw, nodes, ctypes.byref(n))
        counts: dict[str, int] = {}
        for node in nodes[:n.value]:
            kind = ctypes.c_int(-1)
            cu.cuGraphNodeGetType(ctypes.c_void_p(node), ctypes.byref(kind))
            name = NODE_TYPES[kind.value] if 0 <= kind.value < len(NODE_TYPES) else str(kind.value)
            counts[name] = counts.get(name, 0) + 1
        return {"total": int(n.value), "by_type": counts}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {str(e)[:200]}"}


def profile_kernels(fn, cuda: bool, top: int = 25) -> dict:
    """Device kernels of one eager call of ``fn`` via torch.profiler: count, summed time, top names."""
    from torch.profiler import ProfilerActivity, profile
    try:
        acts = [ProfilerActivity.CUDA] if cuda else [ProfilerActivity.CPU]
        with profile(activities=acts) as prof:
            fn()
            if cuda:
                torch.cuda.synchronize()
        rows: dict[str, list] = {}
        for e in prof.events():
            dev = str(getattr(e, "device_type", "")).upper()
            if cuda and "CUDA" not in dev:
                continue
            if not cuda and getattr(e, "cpu_parent", None) is not None:
                continue
            us = e.time_range.elapsed_us()
            r = rows.setdefault(e.name, [0, 0.0])
            r[0] += 1
            r[1] += us
        memops = {k: v for k, v in rows.items() if re.match(r"(?i)^(memcpy|memset)", k)}
        kernels = {k: v for k, v in rows.items() if k not in memops}
        ranked = sorted(kernels.items(), key=lambda kv: -kv[1][1])[:top]
        return {"kernels": sum(v[0] for v in kernels.values()), "memops": sum(v[0] for v in memops.values()),
                "kernel_time_s": sum(v[1] for v in kernels.values()) / 1e6, "distinct": len(kernels),
                "top": [{"name": k[:160], "count": c, "time_s": us / 1e6} for k, (c, us) in ranked]}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {str(e)[:200]}"}


# ---- microbenchmarks -----------------------------------------------------------------------------------------

def bench_fn(fn, dev, timer, nvml, window_s, reps_per_graph=1, min_iters=10) -> dict:
    """Time ``fn`` as a graph of ``reps_per_graph`` calls; per-call figures."""
    def many():
        for _ in range(reps_per_graph):
            fn()
    run, _ = make_runner(many, dev.type == "cuda", graphs=True)
    r = timed_window(run, timer, nvml, window_s, min_iters)
    per = {k: v / reps_per_graph for k, v in r["latency_s"].items() if k not in ("samples",)}
    out = {"latency_s": per, "mean_latency_s": r["mean_latency_s"] / reps_per_graph, "calls":
           r["iterations"] * reps_per_graph, "reps_per_graph": reps_per_graph}
    for k in ("power_w", "energy_window_j"):
        if k in r:
            out[k] = r[k]
    if "energy_j_per_call" in r:
        out["energy_j_per_call"] = r["energy_j_per_call"] / reps_per_graph
    out["sm_clock_mhz"] = (r["nvml"].get("sm_clock_mhz") or {}).get("mean")
    return out


def micro_gemm(dev, dtype, timer, nvml, dry: bool, window_s: float) -> list[dict]:
    shapes = [(512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192),
              (16384, 16384, 16384),
              (197, 768, 3072), (197 * 64, 768, 3072), (77, 512, 2048), (77 * 64, 512, 2048),
              (1024 * 64, 1024, 4096), (1024 * 64, 4096, 1024), (128, 1024, 1024), (8, 1024, 50257)]
    if dry:
        shapes = [(64, 64, 64), (128, 96, 80)]
    out = []
    for m, k, n in shapes:
        g = torch.Generator(device=dev).manual_seed(1)
        a = torch.randn(m, k, device=dev, dtype=dtype, generator=g)
        b = torch.randn(k, n, device=dev, dtype=dtype, generator=g)
        c = torch.empty(m, n, device=dev, dtype=dtype)
        flop = 2 * m * n * k
        reps = max(1, min(50, int(2e11 // flop)))
        r = bench_fn(lambda: torch.mm(a, b, out=c), dev, timer, nvml, window_s, reps)
        r.update(m=m, k=k, n=n, flop=flop, tflops=flop / r["latency_s"]["median"] / 1e12)
        out.append(r)
        print(f"  gemm {m}x{k}x{n}: {r['tflops']:.1f} TFLOP/s, {r['latency_s']['median'] * 1e6:.1f} us")
    return out


def micro_copy(dev, dtype, timer, nvml, dry: bool, window_s: float) -> list[dict]:
    sizes = [2 ** 20, 8 * 2 ** 20, 32 * 2 ** 20, 128 * 2 ** 20, 2 ** 30, 4 * 2 ** 30] if not dry else [2 ** 20]
    out = []
    for size in sizes:
        src = torch.randn(size // 2, device=dev, dtype=dtype)
        dst = torch.empty_like(src)
        reps = max(1, min(100, int(2e9 // size)))
        r = bench_fn(lambda: dst.copy_(src), dev, timer, nvml, window_s, reps)
        moved = 2 * size
        r.update(bytes=size, bytes_moved=moved, tb_per_s=moved / r["latency_s"]["median"] / 1e12)
        out.append(r)
        print(f"  copy {size / 2 ** 20:.0f} MiB: {r['tb_per_s']:.2f} TB/s (read+write)")
    return out


def micro_vector(dev, dtype, timer, nvml, dry: bool, window_s: float) -> list[dict]:
    """Softmax, LayerNorm, GELU and add over large (HBM-bound) and transformer-sized (small-kernel) tensors."""
    cases = [("softmax", (64, 16, 1024, 1024)), ("softmax", (12, 197, 197)), ("softmax", (64 * 12, 197, 197)),
             ("layernorm", (65536, 1024)), ("layernorm", (197, 768)), ("layernorm", (64 * 197, 768)),
             ("layernorm", (77, 512)), ("gelu", (65536, 4096)), ("gelu", (197, 3072)), ("gelu", (64 * 197, 3072)),
             ("add", (65536, 4096)), ("add", (197, 768))]
    if dry:
        cases = [(op, (3, 5, 7)) for op in ("softmax", "layernorm", "gelu", "add")]
    out = []
    for op, shape in cases:
        x = torch.randn(shape, device=dev, dtype=dtype)
        y = torch.empty_like(x)
        z = torch.randn_like(x)
        ln = torch.nn.LayerNorm(shape[-1], device=dev, dtype=dtype)
        fns = {"softmax": lambda: torch.softmax(x, -1, out=y),
               "layernorm": lambda: torch.nn.functional.layer_norm(x, (shape[-1],), ln.weight, ln.bias),
               "gelu": lambda: torch.nn.functional.gelu(x),
               "add": lambda: torch.add(x, z, out=y)}
        nbytes = x.numel() * x.element_size()
        moved = {"softmax": 2, "layernorm": 2, "gelu": 2, "add": 3}[op] * nbytes
        reps = max(1, min(100, int(1e9 // max(moved, 1))))
        r = bench_fn(fns[op], dev, timer, nvml, window_s, reps)
        r.update(op=op, shape=list(shape), bytes_moved=moved, gb_per_s=moved / r["latency_s"]["median"] / 1e9)
        out.append(r)
        print(f"  {op} {shape}: {r['gb_per_s']:.0f} GB/s, {r['latency_s']['median'] * 1e6:.2f} us")
    return out


def micro_attention(dev, dtype, timer, nvml, dry: bool, window_s: float) -> list[dict]:
    cases = [(8, 16, 1024, False), (8, 16, 1024, True), (64, 12, 197, False), (1, 12, 197, False),
             (1, 8, 77, True), (64, 16, 2048, True), (1, 16, 2048, True)]
    if dry:
        cases = [(1, 2, 16, False), (1, 2, 16, True)]
    out = []
    for b, h, n, causal in cases:
        q, k, v = (torch.randn(b, h, n, 64, device=dev, dtype=dtype) for _ in range(3))
        flop = 4 * b * h * n * n * 64
        reps = max(1, min(50, int(2e10 // flop)))
        r = bench_fn(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal),
                     dev, timer, nvml, window_s, reps)
        r.update(batch=b, heads=h, seq=n, head_dim=64, causal=causal, flop_dense=flop,
                 tflops_dense=flop / r["latency_s"]["median"] / 1e12)
        out.append(r)
        print(f"  sdpa b{b} h{h} n{n} causal={causal}: {r['tflops_dense']:.1f} TFLOP/s dense-equivalent")
    return out


def micro_launch(dev, timer, nvml, dry: bool) -> dict:
    """Per-kernel cost of a near-empty kernel: eager launches (host-bound) and inside one CUDA graph."""
    cuda = dev.type == "cuda"
    x = torch.zeros(1, device=dev)
    n = 2000 if not dry else 20

    def tiny():
        x.add_(1.0)
    for _ in range(50):
        tiny()
    timer.sync()
    w0 = time.perf_counter()
    a = timer.mark()
    for _ in range(n):
        tiny()
    b = timer.mark()
    timer.sync()
    wall = time.perf_counter() - w0
    out = {"kernel": "1-element add_ (torch)", "eager_launches": n, "eager_host_s_per_kernel": wall / n,
           "eager_device_s_per_kernel": timer.elapsed_s(a, b) / n}
    if cuda:
        per_graph = 1000
        r = bench_fn(tiny, dev, timer, nvml, 0.3, per_graph)
        out["graph_s_per_kernel"] = r["latency_s"]["median"]
        out["graph_kernels_per_graph"] = per_graph
        r1 = bench_fn(tiny, dev, timer, nvml, 0.3, 1)
        out["graph_launch_1_kernel_s"] = r1["latency_s"]["median"]
        if hasattr(torch.cuda, "_sleep"):
            r0 = bench_fn(lambda: torch.cuda._sleep(0), dev, timer, nvml, 0.3, per_graph)
            out["graph_s_per_empty_kernel"] = r0["latency_s"]["median"]
    print("  launch: " + ", ".join(f"{k}={v * 1e6:.2f} us" for k, v in out.items() if k.endswith(("_s", "kernel"))
                                   and isinstance(v, float)))
    return out


# ---- workloads -----------------------------------------------------------------------------------------------

def measure_workload(w, dev, dtype, timer, nvml, dry: bool, window_s: float, min_iters: int) -> dict:
    rec = w.record()
    cuda = dev.type == "cuda"
    t0 = time.perf_counter()
    if dry:  # one layer at batch 1: exercises the code, measures nothing
        w = dataclasses.replace(w, batch=1)
        rec.update(dry_run_layers=1, dry_run_batch=1, macs=w.macs(layers=1))
    module, inputs = w.build(device=dev, dtype=dtype, layers=1 if dry else None)
    rec["params"] = sum(p.numel() for p in module.parameters())
    with torch.inference_mode():
        def fn():
            return module(*inputs)
        y = fn()
        rec["output_finite"] = bool(torch.isfinite(y).all())
        rec["profile_eager"] = profile_kernels(fn, cuda)
        try:
            run, graph = make_runner(fn, cuda, graphs=True)
            rec["graph_nodes"] = graph_nodes(graph)
            rec["graph"] = timed_window(run, timer, nvml, window_s, min_iters)
            rec["cuda_graph"] = graph is not None
        except Exception as e:  # capture failed: time eagerly so the workload still has a number
            rec["graph_error"] = f"{type(e).__name__}: {str(e)[:300]}"
            rec["graph"] = timed_window(fn, timer, nvml, window_s, min_iters)
            rec["cuda_graph"] = False
        if w.batch == 1:
            rec["eager"] = timed_window(fn, timer, nvml, min(window_s, 0.3), min_iters)
    g = rec["graph"]
    rec["latency_s"] = g["latency_s"]["median"]
    rec["energy_j"] = g.get("energy_j_per_call")
    rec["achieved_tflops"] = 2 * rec["macs"] / rec["latency_s"] / 1e12
    rec["measure_s"] = time.perf_counter() - t0
    return rec


def idle_power(nvml: Nvml, seconds: float) -> dict:
    """Board power with the GPU idle (this process's CUDA context open), from the energy counter."""
    with Sampler(nvml, 0.1) as s:
        e0, t0 = nvml.energy_j(), time.perf_counter()
        time.sleep(seconds)
        e1, t1 = nvml.energy_j(), time.perf_counter()
    out = {"seconds": t1 - t0, **s.summary()}
    if e0 is not None and e1 is not None:
        out["power_w"] = (e1 - e0) / (t1 - t0)
    return out


def header(args, dev, nvml: Nvml) -> dict:
    h = {"format": FORMAT, "version": VERSION, "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
         "command": " ".join([Path(sys.executable).name] + sys.argv), "python": platform.python_version(),
         "torch": torch.__version__, "cuda_runtime": torch.version.cuda, "host": platform.node(),
         "dtype": "float16" if not args.dry_run else "float32", "cuda_graphs": dev.type == "cuda",
         "window_s": args.window_s, "min_iters": args.min_iters, "dry_run": args.dry_run,
         "cpu": platform.processor() or platform.machine()}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        h.update(gpu=p.name, sm_count=p.multi_processor_count, gpu_memory_bytes=p.total_memory,
                 compute_capability=f"{p.major}.{p.minor}", l2_cache_bytes=getattr(p, "L2_cache_size", None),
                 cudnn=torch.backends.cudnn.version(),
                 sdpa_enabled={k: getattr(torch.backends.cuda, f"{k}_sdp_enabled")() for k in
                               ("flash", "mem_efficient", "math", "cudnn")
                               if hasattr(torch.backends.cuda, f"{k}_sdp_enabled")},
                 fp16_reduced_precision_reduction=torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction)
    h["nvml"] = nvml.header()
    return h


def save(doc: dict, out_dir: Path) -> None:
    tmp = out_dir / (RESULT_NAME + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, out_dir / RESULT_NAME)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory for gpu_h200_measurements.json")
    ap.add_argument("--dry-run", action="store_true", help="CPU, fp32, one layer per workload, tiny micro sizes")
    ap.add_argument("--budget-s", type=float, default=480.0, help="stop starting new steps after this (s)")
    ap.add_argument("--window-s", type=float, default=1.0, help="timed window per workload (s)")
    ap.add_argument("--min-iters", type=int, default=10)
    ap.add_argument("--idle-s", type=float, default=5.0)
    ap.add_argument("--only", default=None, help="regex over workload ids")
    ap.add_argument("--skip-micro", action="store_true")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available() and not args.dry_run
    dev = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.float32
    if args.dry_run:
        args.window_s, args.min_iters, args.idle_s = 0.01, 2, 0.2
    torch.manual_seed(0)
    nvml = Nvml()
    timer = Timer(cuda)
    if cuda:
        torch.zeros(1, device=dev).add_(1)
        torch.cuda.synchronize()
    doc = {"header": header(args, dev, nvml), "status": "running", "idle": {}, "microbenchmarks": {},
           "workloads": [], "skipped": [], "errors": []}
    save(doc, out_dir)
    time.sleep(0.5 if args.dry_run else 2.0)
    doc["idle"]["before"] = idle_power(nvml, args.idle_s)
    print(f"idle before: {doc['idle']['before'].get('power_w')} W", flush=True)
    save(doc, out_dir)

    def left() -> float:
        return args.budget_s - (time.perf_counter() - start)

    if not args.skip_micro:
        micro_window = 0.3 if not args.dry_run else 0.01
        steps = [("gemm", lambda: micro_gemm(dev, dtype, timer, nvml, args.dry_run, micro_window)),
                 ("copy", lambda: micro_copy(dev, dtype, timer, nvml, args.dry_run, micro_window)),
                 ("vector", lambda: micro_vector(dev, dtype, timer, nvml, args.dry_run, micro_window)),
                 ("attention", lambda: micro_attention(dev, dtype, timer, nvml, args.dry_run, micro_window)),
                 ("launch", lambda: micro_launch(dev, timer, nvml, args.dry_run))]
        for name, step in steps:
            try:
                print(f"micro {name}", flush=True)
                with torch.inference_mode():
                    doc["microbenchmarks"][name] = step()
            except Exception as e:
                doc["errors"].append({"step": f"micro_{name}", "error": f"{type(e).__name__}: {str(e)[:300]}"})
                print(f"  FAILED {type(e).__name__}: {e}", flush=True)
            save(doc, out_dir)
    todo = [w for w in gpu_workloads.WORKLOADS.values() if not args.only or re.search(args.only, w.id)]
    reserve_s = args.idle_s + 8
    for i, w in enumerate(todo):
        remaining = len(todo) - i
        if left() < reserve_s + 2:
            doc["skipped"] = [x.id for x in todo[i:]]
            print(f"budget spent: skipping {remaining} workloads", flush=True)
            break
        window = max(0.1, min(args.window_s, 0.5 * (left() - reserve_s) / remaining))
        try:
            rec = measure_workload(w, dev, dtype, timer, nvml, args.dry_run, window, args.min_iters)
            doc["workloads"].append(rec)
            print(f"{w.id:34s} {rec['latency_s'] * 1e3:9.3f} ms  "
                  f"{(rec['energy_j'] or float('nan')):9.4f} J  {rec['achieved_tflops']:7.1f} TFLOP/s  "
                  f"kernels {rec['profile_eager'].get('kernels')}  [{rec['measure_s']:.1f} s]", flush=True)
        except Exception as e:
            doc["errors"].append({"step": w.id, "error": f"{type(e).__name__}: {str(e)[:300]}"})
            print(f"{w.id}: FAILED {type(e).__name__}: {e}", flush=True)
        if cuda:
            torch.cuda.empty_cache()
        save(doc, out_dir)
    time.sleep(0.5 if args.dry_run else 3.0)
    doc["idle"]["after"] = idle_power(nvml, args.idle_s)
    print(f"idle after: {doc['idle']['after'].get('power_w')} W", flush=True)
    doc["status"] = "complete" if not doc["skipped"] else "partial"
    doc["elapsed_s"] = time.perf_counter() - start
    save(doc, out_dir)
    print(f"done in {doc['elapsed_s']:.0f} s: {len(doc['workloads'])} workloads, {len(doc['errors'])} errors, "
          f"{len(doc['skipped'])} skipped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
