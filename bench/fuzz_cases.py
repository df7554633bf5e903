"""Fuzz cases for bench/fuzz.py: seed inputs (hardware, scenario, study, tech YAML, traces, IR JSON, ONNX, CLI
arguments, a finished study store) and the mutations that turn them into hostile ones.

A case is plain data (family, id, description, payload) so it can travel to a worker process; everything is drawn
from one ``random.Random(seed)``, so a run is reproducible.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]
HW_DIR = ROOT / "backend" / "data" / "presets"
SCENARIO_DIR = ROOT / "backend" / "data" / "carbon" / "scenarios"

# Hostile values a structured mutation may put anywhere in a document.
NUMBERS = [0, -1, 1, -3, 45, 2**31, 2**40, 2**63, 2**64, 10**30, 1e300, -1e300, 1e-320, 0.5, 2.5, math.nan,
           math.inf, -math.inf]
STRINGS = ["", "x", "LPDDR9", "nope", "x" * 5000, "é漢字", "../../etc/passwd", "0", "-1", "nan", "inf", "1e999",
           "{a: 1}", "\x00", "*a"]
OTHERS = [None, True, False, [], {}, [1, 2], {"a": 1}, [[[[]]]]]
HOSTILE = NUMBERS + STRINGS + OTHERS

LEAD = "lead"   # tag of cases in the backend's arithmetic (tiling/mapper/hardware floats), which issue 9 rewrites
LEAD_FILES = tuple(f"backend/{m}.py" for m in ("hardware", "tiling", "mapper", "sweep", "costs", "systolic", "vector",
                                               "estimate", "presets", "contraction"))


@dataclass
class Case:
    family: str
    id: int
    what: str                                  # the mutation, in words
    payload: dict[str, Any]
    tags: list[str] = field(default_factory=list)


# -- structured mutation of YAML/JSON documents ---------------------------------------------------------------

def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    """Every path into a document (keys and list indices), the root included."""
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, path + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _near(value: Any, rng: random.Random) -> Any:
    """A value close to a valid one: the same number off by a sign, a factor or a unit, or a type change."""
    if isinstance(value, bool):
        return rng.choice([not value, 0, "yes", None])
    if isinstance(value, (int, float)):
        return rng.choice([-value, 0, value * 1e12, value / 1e12, value + 0.5, str(value), [value], -abs(value) - 1,
                           value * 2**40])
    if isinstance(value, str):
        return rng.choice([value.upper(), value + "9", value[:-1], "", [value], 7])
    return rng.choice(HOSTILE)


def mutate_doc(doc: Any, rng: random.Random, n: int | None = None) -> tuple[Any, str]:
    """1-3 structured mutations of a document; returns the new document and a description."""
    doc = copy.deepcopy(doc)
    said = []
    for _ in range(n or rng.choice([1, 1, 1, 2, 3])):
        paths = _paths(doc)
        path = rng.choice(paths[1:] or paths)
        op = rng.choice(["hostile", "hostile", "near", "near", "scale", "scale", "scale", "delete", "unknown key",
                         "wrap", "swap", "empty"])
        where = ".".join(map(str, path)) or "<root>"
        if op == "hostile":
            v = rng.choice(HOSTILE)
            doc = _set(doc, path, copy.deepcopy(v))
            said.append(f"{where} = {v!r:.30}")
        elif op == "near":
            v = _near(_get(doc, path), rng)
            doc = _set(doc, path, v)
            said.append(f"{where} ~ {v!r:.30}")
        elif op == "scale":             # usually still valid: exercises the output oracle
            nums = [q for q in paths if isinstance(_get(doc, q), (int, float)) and not isinstance(_get(doc, q), bool)]
            if nums:
                q = rng.choice(nums)
                f = rng.choice([0.5, 2, 4, 10, 0.1, 1e3, 1e-3, 1e6])
                v = _get(doc, q)
                doc = _set(doc, q, type(v)(v * f) if isinstance(v, int) and f >= 1 else v * f)
                said.append(f"{'.'.join(map(str, q))} x {f:g}")
        elif op == "delete" and path:
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
            said.append(f"del {where}")
        elif op == "unknown key":
            target = _get(doc, path)
            if isinstance(target, dict):
                target[rng.choice(["extra", "Cores", "node", "lifetime"])] = rng.choice(HOSTILE)
                said.append(f"{where} + unknown key")
        elif op == "wrap":
            doc = _set(doc, path, [copy.deepcopy(_get(doc, path))])
            said.append(f"{where} wrapped in a list")
        elif op == "swap":
            other = rng.choice(paths)
            v = copy.deepcopy(_get(doc, other))
            doc = _set(doc, path, v)
            said.append(f"{where} = value of {'.'.join(map(str, other)) or '<root>'}")
        elif op == "empty":
            doc = _set(doc, path, {} if rng.random() < 0.5 else [])
            said.append(f"{where} emptied")
    return doc, "; ".join(said) or "no-op"


# -- byte-level mutation of any file ---------------------------------------------------------------------------

def alias_bomb(levels: int = 9, width: int = 10) -> bytes:
    text = "a: &a [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        a, b = chr(97 + i), chr(96 + i)
        text += f"{a}: &{a} [" + ", ".join([f"*{b}"] * width) + "]\n"
    return text.encode()


def mutate_bytes(data: bytes, rng: random.Random, text: bool = True) -> tuple[bytes, str]:
    """A byte-level fault: flips, cuts, junk, non-UTF-8, NUL, deep nesting, an alias bomb, a huge number."""
    op = rng.choice(["flip", "flip", "truncate", "insert", "delete span", "duplicate span", "non-utf8", "nul",
                     "deep", "bomb", "huge number", "empty", "long line", "bom", "crlf"] if text else
                    ["flip", "flip", "flip", "truncate", "truncate", "insert", "delete span", "duplicate span",
                     "empty", "zero span"])
    b = bytearray(data)
    n = max(len(b), 1)
    i = rng.randrange(n)
    if op == "flip" and b:
        for _ in range(rng.choice([1, 1, 4, 32])):
            j = rng.randrange(len(b))
            b[j] ^= 1 << rng.randrange(8)
    elif op == "truncate":
        b = b[:i]
    elif op == "insert":
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 8, 64])))
    elif op == "delete span":
        del b[i:i + rng.choice([1, 16, 256])]
    elif op == "duplicate span":
        b[i:i] = b[i:i + rng.choice([8, 64, 512])] * rng.choice([2, 50])
    elif op == "zero span":
        end = min(len(b), i + rng.choice([16, 256, 4096]))
        b[i:end] = bytes(end - i)
    elif op == "non-utf8":
        b[i:i] = rng.choice([b"\xff\xfe", b"\xe9", b"\xc3\x28", b"\x80"])
    elif op == "nul":
        b[i:i] = b"\x00"
    elif op == "deep":
        d = rng.choice([100, 1000, 50_000])
        b = bytearray(rng.choice([b"[" * d + b"]" * d, b"{a: " * d + b"1" + b"}" * d, b"[" * d]))
    elif op == "bomb":
        b = bytearray(alias_bomb(rng.choice([6, 9, 12])))
    elif op == "huge number":
        b = bytearray(b"a: 1" + b"0" * rng.choice([400, 5000, 100_000]) + b"\n")
    elif op == "empty":
        b = bytearray()
    elif op == "long line":
        b[i:i] = b"x" * rng.choice([10_000, 3_000_000])
    elif op == "bom":
        b[0:0] = b"\xef\xbb\xbf"
    elif op == "crlf":
        b = bytearray(bytes(b).replace(b"\n", b"\r\n"))
    return bytes(b), f"bytes: {op} at {i}"


PATH_FAULTS = ["missing", "directory", "device", "fifo", "symlink loop", "unreadable"]


def path_fault(rng: random.Random) -> tuple[str, str]:
    f = rng.choice(PATH_FAULTS)
    return f, f"path: {f}"


# -- seeds -----------------------------------------------------------------------------------------------------

def hardware_seeds() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(HW_DIR.glob("*.yaml"))}


def scenario_seeds() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


EDGE_KNOBS = {"cores": [1, 2, 4], "pe_rows": [32, 64, 128, 256], "pe_cols": [2, 4, 8, 16],
              "local_buffer_kb": [64, 128, 256], "global_buffer_mb": [2, 4, 8]}


def study_seeds() -> dict[str, dict]:
    base = {"name": "fuzz", "model": {"spec": "gemm:197,768,768", "tower": "image"},
            "hardware": {"template": "catransformers-edge", "knobs": copy.deepcopy(EDGE_KNOBS)},
            "scenario": "paper-california", "objectives": ["carbon_kg", "latency_s"],
            "constraints": [{"metric": "pes", "max": 16384}, {"metric": "latency_s", "max": 0.05}],
            "optimizer": {"kind": "random", "trials": 3, "seed": 1}}
    ranges = copy.deepcopy(base)
    ranges["hardware"]["knobs"] = {"cores": {"lo": 1, "hi": 4}, "clock_hz": {"lo": 2e8, "hi": 1e9, "log": True},
                                   "node_nm": [22, 7], "dram_kind": ["LPDDR4", "HBM2"], "pe_rows": 64}
    ranges["schedule"] = {"knobs": {"dataflow": ["best", "os"], "mapper": ["edp", "latency"]}}
    ranges["forbidden"] = [{"cores": 4, "node_nm": 7}]
    gpu = copy.deepcopy(base)
    gpu["hardware"] = {"template": "gpu-like", "knobs": {"cores": [1, 2], "global_buffer_mb": {"lo": 4, "hi": 32,
                                                                                               "step": 4}}}
    gpu["objectives"] = ["energy_j"]
    gpu["constraints"] = [{"metric": "area_mm2", "max": 1000}]
    return {"edge-lists": base, "edge-ranges": ranges, "gpu": gpu}


def tech_seed() -> dict:
    return {"dram.pj_per_bit.LPDDR4": 6.0, "logic.mac_energy_pj.8": {"value": 0.25, "source": "fuzz"},
            "sram.array_efficiency": 0.7}


def trace_seed() -> bytes:
    rows = ["timestamp,g_per_kwh"] + [f"2024-01-01T{h:02d}:00:00Z,{200 + 5 * h}" for h in range(24)] + \
        [f"2024-01-02T{h:02d}:00:00Z,{150 + 3 * h}" for h in range(24)]
    return ("\n".join(rows) + "\n").encode()


def onnx_seeds() -> dict[str, bytes]:
    """Small ONNX models with a dynamic batch: an MLP, a convolution stack, an attention block, a layer norm."""
    import numpy as np
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    r = np.random.default_rng(0)

    def w(name, *shape):
        return nh.from_array(r.standard_normal(shape).astype("float32"), name)

    def model(nodes, name, inputs, outputs, inits, opset=17):
        g = h.make_graph(nodes, name, inputs, outputs, inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m.SerializeToString()

    vi = h.make_tensor_value_info
    mlp = model([h.make_node("MatMul", ["x", "W1"], ["a"], name="fc1"),
                 h.make_node("Add", ["a", "B1"], ["b"], name="bias"), h.make_node("Relu", ["b"], ["c"], name="act"),
                 h.make_node("MatMul", ["c", "W2"], ["y"], name="fc2")],
                "mlp", [vi("x", T.FLOAT, ["batch", 16])], [vi("y", T.FLOAT, ["batch", 8])],
                [w("W1", 16, 32), w("B1", 32), w("W2", 32, 8)])
    conv = model([h.make_node("Conv", ["x", "K1"], ["a"], name="conv1", strides=[2, 2], pads=[1, 1, 1, 1],
                              kernel_shape=[3, 3], dilations=[1, 1]),
                  h.make_node("Relu", ["a"], ["b"], name="relu1"),
                  h.make_node("Conv", ["b", "K2"], ["c"], name="conv2", kernel_shape=[1, 1]),
                  h.make_node("GlobalAveragePool", ["c"], ["d"], name="pool"),
                  h.make_node("Flatten", ["d"], ["e"], name="flat"),
                  h.make_node("Gemm", ["e", "G", "GB"], ["y"], name="head", transB=1)],
                 "conv", [vi("x", T.FLOAT, ["batch", 3, 16, 16])], [vi("y", T.FLOAT, ["batch", 10])],
                 [w("K1", 8, 3, 3, 3), w("K2", 16, 8, 1, 1), w("G", 10, 16), w("GB", 10)])
    attn = model([h.make_node("MatMul", ["x", "Wq"], ["q"], name="q"),
                  h.make_node("MatMul", ["x", "Wk"], ["k"], name="k"),
                  h.make_node("MatMul", ["x", "Wv"], ["v"], name="v"),
                  h.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
                  h.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
                  h.make_node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
                  h.make_node("MatMul", ["p", "v"], ["y"], name="mix")],
                 "attention", [vi("x", T.FLOAT, ["batch", 8, 16])], [vi("y", T.FLOAT, ["batch", 8, 16])],
                 [w("Wq", 16, 16), w("Wk", 16, 16), w("Wv", 16, 16)])
    norm = model([h.make_node("LayerNormalization", ["x", "g", "b"], ["n"], name="ln", axis=-1, epsilon=1e-5),
                  h.make_node("MatMul", ["n", "W"], ["m"], name="proj"),
                  h.make_node("Gelu", ["m"], ["y"], name="gelu", domain="")],
                 "norm", [vi("x", T.FLOAT, ["batch", 4, 16])], [vi("y", T.FLOAT, ["batch", 4, 16])],
                 [w("g", 16), w("b", 16), w("W", 16, 16)], opset=20)
    return {"mlp": mlp, "conv": conv, "attention": attn, "norm": norm}


def mutate_onnx(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A protobuf-level mutation: attributes, dims, op types, wiring, data types, initializer shapes."""
    import onnx
    from onnx import helper as h

    m = onnx.load_model_from_string(data)
    g = m.graph
    op = rng.choice(["attr", "attr", "attr", "dim", "op_type", "rewire", "dtype", "init shape", "drop node",
                     "drop init", "opset", "dup node"])
    said = op
    node = rng.choice(list(g.node))
    if op == "attr":
        if node.attribute and rng.random() < 0.8:
            a = rng.choice(list(node.attribute))
            v = rng.choice([0, -1, -7, 2**31, 10**6])
            if a.ints:
                idx = rng.randrange(len(a.ints))
                a.ints[idx] = v
                said = f"attr {node.name}.{a.name}[{idx}] = {v}"
            elif a.type == onnx.AttributeProto.INT:
                a.i = v
                said = f"attr {node.name}.{a.name} = {v}"
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([math.nan, math.inf, -1.0, 0.0])
                said = f"attr {node.name}.{a.name} = {a.f}"
        else:
            name = rng.choice(["axis", "perm", "strides", "group", "transA", "bogus"])
            val = rng.choice([5, -9, [0, 0], [7, 7, 7], 0])
            node.attribute.append(h.make_attribute(name, val))
            said = f"attr {node.name} + {name}={val}"
    elif op == "dim":
        vi = rng.choice(list(g.input) + list(g.output))
        dims = vi.type.tensor_type.shape.dim
        if dims:
            d = dims[rng.randrange(len(dims))]
            choice = rng.choice([0, -1, 2**40, "other", ""])
            if isinstance(choice, int):
                d.dim_value = choice
            else:
                d.dim_param = choice
            said = f"dim of {vi.name} = {choice!r}"
    elif op == "op_type":
        node.op_type = rng.choice(["Relu", "MatMul", "Conv", "Softmax", "NoSuchOp", "TopK", "Einsum", "Where", ""])
        said = f"{node.name}.op_type = {node.op_type!r}"
    elif op == "rewire":
        names = [i.name for i in g.input] + [i.name for i in g.initializer] + [o for n in g.node for o in n.output]
        if node.input:
            k = rng.randrange(len(node.input))
            node.input[k] = rng.choice(names + ["ghost", ""])
            said = f"{node.name}.input[{k}] = {node.input[k]!r}"
    elif op == "dtype":
        vi = rng.choice(list(g.input))
        vi.type.tensor_type.elem_type = rng.choice([onnx.TensorProto.INT64, onnx.TensorProto.STRING,
                                                    onnx.TensorProto.BOOL, 0, 99])
        said = f"dtype of {vi.name} = {vi.type.tensor_type.elem_type}"
    elif op == "init shape" and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, 2**33])
            said = f"initializer {t.name} dims = {list(t.dims)}"
    elif op == "drop node":
        g.node.remove(node)
        said = f"drop {node.name}"
    elif op == "drop init" and g.initializer:
        t = rng.choice(list(g.initializer))
        g.initializer.remove(t)
        said = f"drop initializer {t.name}"
    elif op == "opset":
        m.opset_import[0].version = rng.choice([1, 6, 99, 0])
        said = f"opset {m.opset_import[0].version}"
    elif op == "dup node":
        g.node.append(copy.deepcopy(node))
        said = f"duplicate {node.name}"
    return m.SerializeToString(), said


# -- case generators, one per family ---------------------------------------------------------------------------

def _doc_case(family: str, seeds: dict[str, Any], rng: random.Random, dump: Callable[[Any], bytes],
              text_ok: bool = True) -> tuple[dict, str]:
    name = rng.choice(sorted(seeds))
    r = rng.random()
    if r < 0.08:
        fault, said = path_fault(rng)
        return {"seed": name, "path_fault": fault}, said
    if r < 0.35 and text_ok:
        data, said = mutate_bytes(dump(seeds[name]), rng)
        return {"seed": name, "data": data}, f"{name}: {said}"
    doc, said = mutate_doc(seeds[name], rng)
    try:
        data = dump(doc)
    except (TypeError, ValueError, RecursionError):
        data = json.dumps(doc, default=str).encode()
    return {"seed": name, "data": data}, f"{name}: {said}"


def yaml_bytes(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode()


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def gen_hardware(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    payload, said = _doc_case("hardware", hardware_seeds(), rng, yaml_bytes)
    tags = [LEAD] if any(t in said for t in ("inf", "nan", "1e+300", "1e300", "1e-320", "e+12", "e-12", "1e999",
                                             "x 1e+06", "x 1000")) else []
    return payload, said, tags


def gen_scenario(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    return (*_doc_case("scenario", scenario_seeds(), rng, yaml_bytes), [])


def gen_study(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    return (*_doc_case("study", study_seeds(), rng, yaml_bytes), [])


def gen_tech(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    return (*_doc_case("tech", {"overrides": tech_seed()}, rng, yaml_bytes), [])


def gen_trace(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    if rng.random() < 0.1:
        fault, said = path_fault(rng)
        return {"path_fault": fault}, said, []
    data = trace_seed()
    if rng.random() < 0.5:
        data, said = mutate_bytes(data, rng)
    else:
        lines = data.decode().splitlines()
        i = rng.randrange(1, len(lines))
        t, _, v = lines[i].partition(",")
        new = rng.choice([f"{t},{rng.choice(['-5', 'nan', 'inf', '1e308', '', 'x', '3000', '1,2'])}",
                          f"{rng.choice(['2024-13-01T00:00:00Z', 'yesterday', '', '2024-01-01T00:30:00Z'])},{v}",
                          "", "a,b,c"])
        lines[i] = new
        if rng.random() < 0.2:
            lines[0] = rng.choice(["time,g_per_kwh", "timestamp,kg_per_kwh", "timestamp", "hour,g_per_kwh"])
        data, said = ("\n".join(lines) + "\n").encode(), f"line {i} = {new!r:.40}"
    return {"data": data}, said, []


def gen_ir(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    docs = {k: json.loads(v) for k, v in seeds["ir"].items()}
    payload, said = _doc_case("ir", docs, rng, json_bytes)
    tags = [LEAD] if any(t in said for t in ("2**40", "1099511627776", "2147483648", "9223372036854775808",
                                             "18446744073709551616", "1000000000000000000000000000000",
                                             "x 1e+06", "x 1000")) else []
    return payload, said, tags


def gen_onnx(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    names = sorted(seeds["onnx"])
    name = rng.choice(names)
    data = seeds["onnx"][name]
    r = rng.random()
    if r < 0.05:
        fault, said = path_fault(rng)
        return {"seed": name, "path_fault": fault}, said, []
    if r < 0.2:
        said = "unchanged"                    # only the dims binding varies: valid models exercise the oracle
    elif r < 0.4:
        data, said = mutate_bytes(data, rng, text=False)
    else:
        said = []
        for _ in range(rng.choice([1, 1, 2])):
            data, s = mutate_onnx(data, rng)
            said.append(s)
        said = "; ".join(said)
    dims = rng.choice([{"batch": 1}, {"batch": 1}, {"batch": 4}, {}, {"batch": 0}, {"batch": -2}, {"bacth": 1},
                       {"batch": 2**40}])
    tags = [LEAD] if "2**40" in said or dims.get("batch") == 2**40 or "1099511627776" in said else []
    return {"seed": name, "data": data, "dims": dims}, f"{name}: {said}; dims {dims}", tags


GOOD_DIMS = ["1", "8", "64", "197", "768", "3072"]
BAD_DIMS = ["0", "-1", "", "a", "1.5", "2147483648", "1099511627776", " 7", "1e3"]
GOOD_KNOBS = ["cores=2", "node_nm=7", "dram_kind=HBM2", "clock_hz=1e9", "pe_rows=64", "pe_cols=16",
              "global_buffer_mb=8", "local_buffer_kb=256", "vector_lanes=64", "dram_gb=4"]
BAD_KNOBS = ["cores=-1", "cores=0", "cores=two", "pe_rows=nan", "node_nm=45", "dram_kind=LPDDR9", "clock_hz=inf",
             "global_buffer_mb=0.001", "local_buffer_kb=1e-9", "nope=1", "=3", "cores", "dram_gb=1e30",
             "pe_cols=1000000"]


def _valid_argv(cmd: str, rng: random.Random) -> list[str]:
    gemm = "gemm:" + ",".join(rng.choice(GOOD_DIMS) for _ in range(3))
    spec = rng.choice([gemm, gemm, gemm, "{ir}", "{onnx}"])
    hw = rng.choice(["catransformers-edge", "gpu-like", "{hw}"])
    argv = {"estimate": ["estimate", spec, "--hardware", hw, "--json", "{out}/est.json"],
            "inspect": ["inspect", spec, "--hardware", hw, "--op", "fc1" if spec == "{onnx}" else "matmul"],
            "lower": ["lower", spec, "--json", "{out}/g.json"],
            "carbon": ["carbon", gemm, "--hardware", hw, "--scenario",
                       rng.choice(["catx-default", "paper-california", "france", "{scenario}"]),
                       "--json", "{out}/carbon.json"],
            "search": ["search", "{study}", "--out", "{out}/run", "--quiet", "--trials", rng.choice(["1", "2"])],
            "results": ["results", "{store}", "--no-plots"]}[cmd]
    if spec == "{onnx}" and cmd in ("estimate", "inspect", "lower"):
        argv += ["--dim", "batch=1"]
    if cmd in ("estimate", "inspect") and rng.random() < 0.4:
        argv += ["--knob", rng.choice(GOOD_KNOBS)]
    if cmd in ("estimate", "inspect") and rng.random() < 0.3:
        argv += ["--bits", rng.choice(["4", "8", "16", "32"])]
    if cmd == "estimate" and rng.random() < 0.2:
        argv += ["--tech", "{tech}"]
    if cmd in ("estimate", "inspect") and rng.random() < 0.2:
        argv += ["--target", rng.choice(["latency", "energy", "edp"])]
    if cmd == "carbon" and rng.random() < 0.4:
        argv += ["--uncertainty", "--samples", "200", "--seed", "3"]
    if cmd == "carbon" and rng.random() < 0.2:
        argv += ["--versus", "gpu-like"]
    if cmd == "search" and rng.random() < 0.3:
        argv += ["--seed", rng.choice(["0", "5"])]
    if cmd == "results" and rng.random() < 0.3:
        argv += ["--trials", "--limit", "3"]
    return argv


HOSTILE_ARGS = {
    "gemm": lambda rng: "gemm:" + ",".join(rng.choice(GOOD_DIMS + BAD_DIMS) for _ in range(rng.choice([2, 3, 3, 4]))),
    "spec": lambda rng: rng.choice(["openclip:NoSuchNet", "nosuchmodule:make", "os:getcwd", "json:dumps", "math:pi",
                                    "", ":", "x.onnx", "{dir}", "gemm:", "{missing}.json", "{hw}"]),
    "hardware": lambda rng: rng.choice(["no-chip", "{dir}", "{missing}.yaml", "", "{scenario}", "{onnx}"]),
    "knob": lambda rng: rng.choice(BAD_KNOBS),
    "bits": lambda rng: rng.choice(["0", "-8", "33", "1000", "x", "3"]),
    "dim": lambda rng: rng.choice(["batch=0", "batch=-1", "batch=x", "batch", "=1", "bacth=2", "batch=1099511627776"]),
    "shape": lambda rng: rng.choice(["x=1,16", "x=1,-16", "x=", "x=a,b", "ghost=1,2"]),
    "json": lambda rng: rng.choice(["{dir}", "/proc/nope/g.json", ""]),
    "scenario": lambda rng: rng.choice(["mars", "{dir}", "{hw}", "{missing}.yaml"]),
    "samples": lambda rng: rng.choice(["0", "-5", "100000000000", "x"]),
    "seed": lambda rng: rng.choice(["-1", "4294967296", "99999999999999999999999", "x"]),
    "trials": lambda rng: rng.choice(["0", "-3", "x", "10000000000"]),
    "workers": lambda rng: rng.choice(["0", "-2", "x"]),
    "optimizer": lambda rng: rng.choice(["grid", ""]),
    "limit": lambda rng: rng.choice(["0", "-1", "x"]),
    "top": lambda rng: rng.choice(["0", "-1", "1000000"]),
    "resume": None, "target": lambda rng: rng.choice(["carbon", ""]),
    "store": lambda rng: rng.choice(["{dir}", "{missing}", "{out}", "{hw}"]),
    "study": lambda rng: rng.choice(["{dir}", "nope", "{missing}.yaml", "{hw}", "{scenario}"]),
}
FLAGS = {"estimate": ["gemm", "spec", "hardware", "knob", "bits", "json", "top", "target", "dim", "shape"],
         "inspect": ["gemm", "spec", "hardware", "knob", "bits", "dim"],
         "lower": ["gemm", "spec", "dim", "shape", "json", "bits"],
         "carbon": ["gemm", "hardware", "scenario", "samples", "seed", "json"],
         "search": ["study", "trials", "seed", "workers", "optimizer", "resume"],
         "results": ["store", "limit"]}


def _hostile_argv(argv: list[str], cmd: str, rng: random.Random) -> tuple[list[str], str]:
    what = rng.choice(FLAGS[cmd])
    if what in ("gemm", "spec", "hardware", "study", "store") or (what == "scenario" and cmd == "carbon"):
        pos = {"hardware": argv.index("--hardware") + 1 if "--hardware" in argv else None,
               "scenario": argv.index("--scenario") + 1 if "--scenario" in argv else None}.get(what, 1)
        if pos is None:
            return argv, "no-op"
        argv[pos] = HOSTILE_ARGS[what](rng)
        return argv, f"{what} = {argv[pos]!r:.40}"
    if what == "resume":
        return argv + ["--resume"], "--resume on a fresh --out"
    value = HOSTILE_ARGS[what](rng)
    flag = f"--{what}"
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    return argv, f"{flag} {value!r:.40}"


def gen_cli(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    """A valid argument vector for one command, then (usually) one or two hostile values; paths are filled in by
    the worker."""
    cmd = rng.choice(["estimate", "estimate", "lower", "inspect", "carbon", "search", "results", "garbage"])
    if cmd == "garbage":
        words = ["estimate", "lower", "--hardware", "--knob", "gemm:1,1,1", "--bits", "-", "--", "search", "x", "",
                 "--json", "--out"]
        argv = [rng.choice(words) for _ in range(rng.randrange(0, 6))]
        said = "garbage"
    else:
        argv, said = _valid_argv(cmd, rng), "valid"
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            argv, s = _hostile_argv(argv, cmd, rng)
            said = s if said == "valid" else f"{said}; {s}"
    text = " ".join(argv)
    tags = [LEAD] if any(x in text for x in ("2147483648", "1099511627776", "1e30", "1000000", "1e-9", "0.001",
                                             "3072,3072,3072")) else []
    return {"argv": argv}, f"{said}: {text}"[:200], tags


STORE_FAULTS = ["flip", "truncate", "zero page", "zero bytes", "missing", "bad metrics json", "metrics not numbers",
                "config not a mapping", "eval_s text", "drop table", "drop column", "no study", "bad study json",
                "bad run_info", "locked", "garbage file", "junk wal", "directory", "null status", "huge row"]


def gen_store(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    fault = rng.choice(STORE_FAULTS)
    offset = rng.random()
    return {"fault": fault, "offset": offset, "flips": rng.choice([1, 8, 64]), "row": rng.randrange(1, 7),
            "resume": rng.random() < 0.85}, f"{fault} at {offset:.3f}", []


def gen_sizes(rng: random.Random, seeds: dict) -> tuple[dict, str, list]:
    """A GEMM with dims drawn log-uniformly up to 2**45: the estimate must be exact (MACs = M*K*N) and finite and
    >= 0, or a typed error (issue 9: dims up to 2**40 exact or refused)."""
    dims = [int(2 ** rng.uniform(0, 45)) for _ in range(3)]
    hw = rng.choice(["catransformers-edge", "gpu-like"])
    return {"dims": dims, "hardware": hw}, f"gemm:{','.join(map(str, dims))} on {hw}", [LEAD]   # all issue 9's


GENERATORS: dict[str, Callable] = {"hardware": gen_hardware, "scenario": gen_scenario, "study": gen_study,
                                   "tech": gen_tech, "trace": gen_trace, "ir": gen_ir, "onnx": gen_onnx,
                                   "cli": gen_cli, "store": gen_store, "sizes": gen_sizes}
# share of the cases per family (>= 2,000 cases in all with the default count)
WEIGHTS = {"hardware": 0.13, "scenario": 0.11, "study": 0.11, "tech": 0.05, "trace": 0.05, "ir": 0.16, "onnx": 0.13,
           "cli": 0.14, "store": 0.08, "sizes": 0.04}


def make_cases(total: int, seed: int, seeds: dict, families: list[str] | None = None) -> list[Case]:
    """``total`` cases spread over the families by WEIGHTS, drawn from ``seed``."""
    fams = families or list(WEIGHTS)
    weight = sum(WEIGHTS[f] for f in fams)
    counts = {f: max(1, round(total * WEIGHTS[f] / weight)) for f in fams}
    cases = []
    for f in fams:
        rng = random.Random(f"{seed}-{f}")
        for i in range(counts[f]):
            payload, what, tags = GENERATORS[f](rng, seeds)
            cases.append(Case(f, i, what, payload, tags))
    return cases
