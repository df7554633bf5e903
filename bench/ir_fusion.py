"""Op-count reduction of the IR fusion passes per zoo family (torch and ONNX paths) and on CLIP ViT-B/16.

Run by hand: ``python bench/ir_fusion.py [--no-onnx] [--out bench/results/ir_fusion.json]``. For every graph it
records, after lowering and after each pass (``drop_mask_artefacts``, ``fuse_attention``, ``fuse_epilogues``),
the executed and stored op counts, MACs, vector ops and moved elements, the pass's wall time, and what attention
was found (count, causal, KV groups). MACs must not move; vector ops only by the artefacts' element operations.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import frontend  # noqa: E402
import ir  # noqa: E402
from frontend import zoo  # noqa: E402

PASSES = (("artefacts", ir.drop_mask_artefacts), ("attention", ir.fuse_attention), ("epilogues", ir.fuse_epilogues))


def header() -> dict:
    import torch
    import tvm

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.machine(), "platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "tvm": tvm.__version__, "commit": commit}


def counts(g: ir.Graph) -> dict:
    t = ir.totals(g)
    return {"ops_executed": t.ops, "ops_stored": t.stored_ops, "macs": t.macs, "vector_ops": t.vector_ops,
            "moved_elements": t.moved_elements}


def measure(name: str, path: str, g: ir.Graph) -> dict:
    stages = {"lowered": counts(g)}
    for label, fn in PASSES:
        t = time.perf_counter()
        g = fn(g)
        stages[label] = counts(g) | {"pass_ms": round((time.perf_counter() - t) * 1e3, 2)}
    att = [(op, k) for op, k in g.weighted_ops() if op.kind == ir.OpKind.ATTENTION]
    first, last = stages["lowered"], stages["epilogues"]
    assert last["macs"] == first["macs"], name
    row = {"model": name, "path": path, "stages": stages,
           "attention": {"executed": sum(k for _, k in att), "causal": sorted({op.attrs["causal"] for op, _ in att}),
                         "kv_groups": sorted({op.attrs["kv_groups"] for op, _ in att})},
           "executed_ops_ratio": round(last["ops_executed"] / first["ops_executed"], 4),
           "stored_ops_ratio": round(last["ops_stored"] / first["ops_stored"], 4)}
    print(f"{name:>18} {path:<6} executed {first['ops_executed']:>4} -> {last['ops_executed']:>4} "
          f"({row['executed_ops_ratio']:.2f})  stored {first['ops_stored']:>3} -> {last['ops_stored']:>3}  "
          f"attention x{row['attention']['executed']} causal={row['attention']['causal']} "
          f"groups={row['attention']['kv_groups']}", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX path (exports take seconds each)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "ir_fusion.json"))
    a = ap.parse_args()
    rows = []
    for arch in sorted(zoo.ARCHITECTURES):
        module, inputs = zoo.ARCHITECTURES[arch]()
        rows.append(measure(arch, "torch", frontend.load_module(module, inputs, name=arch)))
        if not a.no_onnx:
            import torch

            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / f"{arch}.onnx"
                torch.onnx.export(module, inputs, str(p), dynamo=True, external_data=False, verbose=False)
                rows.append(measure(arch, "onnx", frontend.load(str(p))))
    for tower in ("image", "text"):
        rows.append(measure(f"ViT-B-16.{tower}", "torch", frontend.load("openclip:ViT-B-16", tower=tower)))
    Path(a.out).write_text(json.dumps({"header": header(), "graphs": rows}, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
