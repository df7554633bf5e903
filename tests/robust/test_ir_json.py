"""IR JSON is type-checked and validated on load: bad sizes, repeats, tensors and shapes are typed errors naming
the field, never a KeyError, a ZeroDivisionError or a negative latency downstream."""

from __future__ import annotations

import copy
import json

import pytest

import backend
import frontend
import ir


@pytest.fixture(scope="module")
def doc():
    g = ir.fold_repeats(frontend.gemm_graph(64, 32, 16))
    d = ir.to_dict(g)
    d["blocks"] = [{"name": "b0", "ops": [d["ops"][0]["name"]], "repeat": 3}]
    return d


def _load(tmp_path, d):
    p = tmp_path / "g.json"
    p.write_text(json.dumps(d))
    return ir.load(p)


def _mutated(doc, fn):
    d = copy.deepcopy(doc)
    fn(d)
    return d


CASES = {
    "zero dim": (lambda d: d["ops"][0]["dims"][0].__setitem__(1, 0), r"op 'matmul' \(matmul\): dim 'm' has size 0"),
    "negative dim": (lambda d: d["ops"][0]["dims"][0].__setitem__(1, -64), "size -64; sizes must be integers >= 1"),
    "float dim": (lambda d: d["ops"][0]["dims"][0].__setitem__(1, 2.5), r"dims\[0\] size must be an integer"),
    "string dim": (lambda d: d["ops"][0]["dims"][0].__setitem__(1, "64"), "must be an integer"),
    "zero repeat": (lambda d: d["blocks"][0].__setitem__("repeat", 0), "repeat must be >= 1, got 0"),
    "negative repeat": (lambda d: d["blocks"][0].__setitem__("repeat", -2), "repeat must be >= 1, got -2"),
    "unknown tensor": (lambda d: d["ops"][0]["inputs"][0].__setitem__("tensor", "ghost"), "'ghost' is not declared"),
    "shape mismatch": (lambda d: d["tensors"][0].__setitem__("shape", [64, 33]), "has size 33 but dim"),
    "negative shape": (lambda d: d["tensors"][0].__setitem__("shape", [64, -32]), "has a size < 1"),
    "unknown kind": (lambda d: d["ops"][0].__setitem__("kind", "teleport"), "'teleport' is not a valid OpKind"),
    "bad index": (lambda d: d["ops"][0]["inputs"][0].__setitem__("index", ["m", "k**2"]), "cannot read term"),
    "huge index constant": (lambda d: d["ops"][0]["inputs"][0].__setitem__("index", ["m", "k+" + "9" * 5000]),
                            "too large"),
    "index not a list": (lambda d: d["ops"][0]["inputs"][0].__setitem__("index", "m k"), "must be a list"),
    "block of unknown op": (lambda d: d["blocks"][0].__setitem__("ops", ["nope"]), r"ops \['nope'\] are not"),
    "op not an object": (lambda d: d["ops"].__setitem__(0, 7), r"ops\[0\]: must be an object"),
    "tensor twice": (lambda d: d["tensors"].append(d["tensors"][0]), "declared twice"),
    "missing tensors": (lambda d: d.pop("tensors"), "missing field 'tensors'"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_documents_are_typed_errors_naming_the_field(tmp_path, doc, name):
    fn, message = CASES[name]
    with pytest.raises(ir.IRError, match=message) as e:
        _load(tmp_path, _mutated(doc, fn))
    assert str(tmp_path / "g.json") in str(e.value)


def test_a_valid_document_round_trips_and_estimates(tmp_path, doc):
    g = _load(tmp_path, doc)
    assert ir.to_dict(g) == doc
    est = backend.estimate(g, backend.presets.get("catransformers-edge"))
    assert est.latency_s > 0 and est.energy_j > 0
    assert est.macs == 3 * 64 * 32 * 16          # the block's repeat counts


def test_negative_repeat_never_reaches_the_backend(tmp_path, doc):
    """Old code loaded repeat -2 and printed negative latency and energy."""
    with pytest.raises(ir.IRValidationError):
        _load(tmp_path, _mutated(doc, lambda d: d["blocks"][0].__setitem__("repeat", -2)))


def test_unchecked_load_is_still_possible(doc):
    d = _mutated(doc, lambda d: d["blocks"][0].__setitem__("repeat", 0))
    assert ir.from_dict(d, check=False).blocks[0].repeat == 0
