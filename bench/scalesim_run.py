"""Runs SCALE-Sim (peer venv) on GEMMs and prints JSON cycles; used by bench/scalesim_compare.py.

Usage (with /work/peers-venv/bin/python): scalesim_run.py ROWS COLS DATAFLOW M,K,N [M,K,N ...]
Buffers are sized large (compute-bound) and the interface bandwidth is USER-set high, so the reported
compute cycles are the array's own.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

CONFIG = """[general]
run_name = catx
[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 65536
FilterSramSzkB: 65536
OfmapSramSzkB: 65536
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : 1024
Dataflow : {df}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32
[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2
[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40
[run_presets]
InterfaceBandwidth: USER
UseRamulatorTrace: False
"""


def run(rows: int, cols: int, df: str, gemms: list[tuple[int, int, int]]) -> list[dict]:
    from scalesim.scale_sim import scalesim
    out = []
    for m, k, n in gemms:
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "cfg.cfg"
            cfg.write_text(CONFIG.format(rows=rows, cols=cols, df=df))
            topo = Path(d) / "topo.csv"
            topo.write_text(f"Layer,M,N,K,\ng,{m},{n},{k},\n")
            layout = Path(d) / "layout.csv"
            layout.write_text("Layer,\n")  # custom layouts are off; SCALE-Sim still opens the file
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo),
                           layout=str(layout), input_type_gemm=True)
            with contextlib.redirect_stdout(io.StringIO()):
                sim.run_scale(top_path=d)
            rep = (Path(d) / "catx" / "COMPUTE_REPORT.csv").read_text().splitlines()
            head = [h.strip() for h in rep[0].split(",")]
            vals = [v.strip() for v in rep[1].split(",")]
            row = dict(zip(head, vals))
            out.append({"rows": rows, "cols": cols, "dataflow": df, "m": m, "k": k, "n": n,
                        "total_cycles": int(float(row["Total Cycles"])),
                        "stall_cycles": int(float(row["Stall Cycles"])),
                        "report": row})
    return out


if __name__ == "__main__":
    r, c, df = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    shapes = [tuple(int(x) for x in s.split(",")) for s in sys.argv[4:]]
    print(json.dumps(run(r, c, df, shapes)))
