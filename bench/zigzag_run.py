"""Runs ZigZag (peer venv) on GEMMs for a hardware described in JSON; prints JSON. Used by zigzag_compare.py.

Usage (with /work/peers-venv/bin/python): zigzag_run.py SPEC.json
SPEC: {"rows", "cols", "dataflow": "os"|"ws", "mac_pj", "reg_pj_per_bit", "local_bytes", "local_bw_bits",
       "local_pj_per_bit", "glb_bytes", "glb_bw_bits", "glb_pj_per_bit", "dram_bw_bits", "dram_pj_per_bit",
       "gemms": [[M, K, N], ...], "opt": "EDP"}
Every memory costs pj_per_bit x port width per access (ZigZag counts accesses of the port's max width).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml


def _port(name, kind, bw, alloc):
    return {"name": name, "type": kind, "bandwidth_min": 8, "bandwidth_max": bw, "allocation": alloc}


def _mem(size_bits, bw, pj_bit, operands, served, ports):
    return {"size": int(size_bits), "r_cost": pj_bit * bw, "w_cost": pj_bit * bw, "area": 0, "latency": 1,
            "operands": operands, "ports": ports, "served_dimensions": served}


ALL = ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"]


def accelerator(s: dict) -> dict:
    reg = s["reg_pj_per_bit"]
    mems = {
        "reg_O": _mem(32, 32, reg, ["O"], [], [
            _port("r_port_1", "read", 32, ["O, tl"]), _port("r_port_2", "read", 32, ["O, th"]),
            _port("w_port_1", "write", 32, ["O, fh"]), _port("w_port_2", "write", 32, ["O, fl"])]),
        "local": _mem(s["local_bytes"] * 8, s["local_bw_bits"], s["local_pj_per_bit"], ["I1", "I2", "O"],
                      ["D1", "D2"], [_port("rw_port_1", "read_write", s["local_bw_bits"], ALL)]),
        "glb": _mem(s["glb_bytes"] * 8, s["glb_bw_bits"], s["glb_pj_per_bit"], ["I1", "I2", "O"], ["D1", "D2"],
                    [_port("rw_port_1", "read_write", s["glb_bw_bits"], ALL)]),
        "dram": _mem(1e12, s["dram_bw_bits"], s["dram_pj_per_bit"], ["I1", "I2", "O"], ["D1", "D2"],
                     [_port("rw_port_1", "read_write", s["dram_bw_bits"], ALL)]),
    }
    mems["local"]["force_double_buffering"] = False
    return {"name": "catx_equiv", "memories": mems,
            "operational_array": {"input_precision": [8, 8], "unit_energy": s["mac_pj"], "unit_area": 1,
                                  "dimensions": ["D1", "D2"], "sizes": [s["rows"], s["cols"]]}}


def mapping(s: dict) -> list:
    # O[d0][d2] += I[d0][d1] * W[d1][d2]: D0 = M, D1 = K (reduced), D2 = N
    sm = {"os": {"D1": ["D0, %d" % s["rows"]], "D2": ["D2, %d" % s["cols"]]},
          "ws": {"D1": ["D1, %d" % s["rows"]], "D2": ["D2, %d" % s["cols"]]}}[s["dataflow"]]
    return [{"name": "default", "spatial_mapping": sm, "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]


def workload(m: int, k: int, n: int) -> list:
    return [{"id": 0, "name": "gemm", "operator_type": "Gemm", "equation": "O[d0][d2]+=I[d0][d1]*W[d1][d2]",
             "loop_dims": ["D0", "D1", "D2"], "loop_sizes": [m, k, n],
             "operand_precision": {"I": 8, "W": 8, "O": 32, "O_final": 8}, "operand_source": {"I": 0, "W": 0}}]


def run(s: dict) -> list[dict]:
    from zigzag.api import get_hardware_performance_zigzag
    logging.disable(logging.CRITICAL)
    out = []
    with tempfile.TemporaryDirectory() as d:
        acc, mp = Path(d) / "acc.yaml", Path(d) / "map.yaml"
        acc.write_text(yaml.safe_dump(accelerator(s), sort_keys=False))
        mp.write_text(yaml.safe_dump(mapping(s), sort_keys=False))
        for m, k, n in s["gemms"]:
            wl = Path(d) / f"wl_{m}_{k}_{n}.yaml"
            wl.write_text(yaml.safe_dump(workload(m, k, n), sort_keys=False))
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                energy, latency, cmes = get_hardware_performance_zigzag(
                    str(wl), str(acc), str(mp), opt=s.get("opt", "EDP"), dump_folder=str(Path(d) / "out"),
                    pickle_filename=str(Path(d) / "out.pickle"), loma_show_progress_bar=False)
            dt = time.perf_counter() - t
            cme = cmes[0][1][0][0] if isinstance(cmes[0][1], list) else cmes[0][0]
            rec = {"m": m, "k": k, "n": n, "energy_pj": float(energy), "latency_cycles": float(latency),
                   "seconds": dt}
            with contextlib.suppress(Exception):
                rec["mac_energy_pj"] = float(cme.mac_energy)
                rec["mem_energy_pj"] = {str(op): [float(x) for x in v] for op, v in cme.mem_energy_breakdown.items()}
                rec["temporal_mapping"] = str(cme.temporal_mapping)
                rec["ideal_cycles"] = float(cme.ideal_cycle)
            out.append(rec)
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(Path(sys.argv[1]).read_text()))))
