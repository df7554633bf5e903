"""The GPU workloads as CATX IR: two layers lowered, the layer block repeated to the real depth, cached on disk.

Lowering a whole 24-layer stack through torch.export and TVM takes seconds to minutes on a small machine, and
the IR of a stack of identical layers is the IR of two of them with the layer block's repeat set (as
``bench/paper_models.py`` does for the paper's models). Graphs are cached as IR JSON under
``.catx-cache/gpu_lowered/`` keyed by the workload id, the bit width and a hash of every source file that shapes
the result (``bench/gpu_workloads.py``, ``frontend/``, ``ir/``), so a changed frontend never reads a stale graph::

    python bench/gpu_lowered.py [--only REGEX]      # fill the cache (one process per ~20 workloads is fine)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench.gpu_workloads as W  # noqa: E402
import ir  # noqa: E402

CACHE = ROOT / ".catx-cache" / "gpu_lowered"
LOWERED_LAYERS = 2
BITS = 16


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """Hash of the sources a lowered graph depends on (the workload module, the frontend, the IR)."""
    h = hashlib.sha256()
    files = [ROOT / "bench" / "gpu_workloads.py", *sorted((ROOT / "frontend").rglob("*.py")),
             *sorted((ROOT / "ir").rglob("*.py"))]
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _repeat_layers(g: ir.Graph, layers: int) -> ir.Graph:
    """The two lowered layers' block with its repeat set to ``layers``."""
    two = [b for b in g.blocks if b.repeat == LOWERED_LAYERS]
    if not two:
        raise RuntimeError(f"{g.name}: the {LOWERED_LAYERS} lowered layers did not fold into one block")
    layer = max(two, key=lambda b: len(b.ops))
    return replace(g, blocks=[replace(b, repeat=layers) if b is layer else b for b in g.blocks])


def cache_path(workload_id: str) -> Path:
    return CACHE / f"{workload_id}-b{BITS}-{source_hash()}.json"


def lowered(workload_id: str) -> ir.Graph:
    """The workload's IR at fp16 (every layer counted; not fused), from the cache when present."""
    path = cache_path(workload_id)
    if path.is_file():
        return ir.load(path)
    from frontend import load_module

    w = W.workload(workload_id)
    module, inputs = w.build(layers=min(LOWERED_LAYERS, w.arch.layers))
    g = load_module(module, inputs, name=workload_id, bits=BITS)
    if w.arch.layers != LOWERED_LAYERS:
        g = _repeat_layers(g, w.arch.layers)
    if ir.totals(g).macs != w.macs():
        raise RuntimeError(f"{workload_id}: lowered MACs {ir.totals(g).macs} != closed form {w.macs()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    ir.save(g, tmp)
    tmp.replace(path)
    return g


def fused(workload_id: str) -> ir.Graph:
    """The lowered graph with attention, epilogues and mask artefacts fused (``ir.fuse``)."""
    return ir.fuse(lowered(workload_id))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="regular expression over workload ids")
    args = ap.parse_args(argv)
    ids = [i for i in W.WORKLOADS if re.search(args.only, i)]
    for i, wid in enumerate(ids):
        t0 = time.perf_counter()
        hit = cache_path(wid).is_file()
        g = lowered(wid)
        print(f"[{i + 1}/{len(ids)}] {wid}: {len(g.ops)} ops stored, {'cached' if hit else 'lowered'} in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
