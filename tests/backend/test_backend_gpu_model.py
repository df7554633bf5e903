"""What matters on a GPU: output tiles dealt to the SMs in waves, a fixed launch per kernel, measured static power,
and only the precisions the tensor cores compute in."""

import math

import pytest
from backend_graphs import gemm, tower
from test_backend_mapper import THREE, _hw, brute_force

import backend
from backend import HardwareError
from backend.contraction import Gemm
from backend.costs import consts
from backend.mapper import map_gemm, objective, splits


def _gpu(**kw):
    hw = _hw(THREE, cores=6, rows=4, cols=4)
    return hw.with_knobs(**{"tensor_unit.core_split": "tiles", "tensor_unit.tile_sizes": [4, 8, 16], **kw})


def test_tiles_are_dealt_in_waves():
    g = Gemm(2, 50, 64, 30)
    got = {(b, m, n) for _, b, m, n in splits(g, 6, "tiles", (16, 32))}
    want = set()
    for tm in (16, 32):
        for tn in (16, 30):
            count = 2 * math.ceil(50 / tm) * math.ceil(30 / tn)
            want.add((math.ceil(count / 6), tm, tn))
    assert got == want


@pytest.mark.parametrize("target", ["latency", "edp"])
def test_tiled_split_is_exact(target):
    c = consts(_gpu())
    g = Gemm(1, 20, 12, 18)
    got = map_gemm(g, c, (False, False, False), target)
    assert objective(target, got.cycles, got.energy_j) == pytest.approx(brute_force(g, c, (False,) * 3, target),
                                                                        rel=1e-9)
    assert got.schedule["spatial"]["cores"].startswith("tiles ")


def test_kernel_launch_and_static_power():
    t = tower("t", 16, 64, 2, 128, 3)
    base = _gpu()
    a = backend.estimate(t, base)
    b = backend.estimate(t, base.with_knobs(kernel_launch_s=2e-6))
    kernels = sum(k for op, k in t.weighted_ops() if not a.op(op.name).schedule.get("view"))
    assert b.latency_s - a.latency_s == pytest.approx(kernels * 2e-6, rel=1e-9)
    s = backend.estimate(t, base.with_knobs(static_power_w=100.0))
    assert s.leakage_power_w == 100.0
    assert s.energy_by_component_j["leakage"] == pytest.approx(100.0 * s.latency_s, rel=1e-9)
    r = backend.sweep(t, [base.with_knobs(kernel_launch_s=2e-6, static_power_w=100.0)])
    e = backend.estimate(t, base.with_knobs(kernel_launch_s=2e-6, static_power_w=100.0))
    assert r.latency_s[0] == pytest.approx(e.latency_s, rel=1e-12) and r.energy_j[0] == pytest.approx(e.energy_j)


def test_unsupported_precision_is_a_typed_error():
    hw = _hw(THREE).with_knobs(**{"tensor_unit.precisions": [8, 16]})
    assert hw.bits.weight == 8
    with pytest.raises(HardwareError, match="not a precision this tensor unit computes in.*supported: \\[8, 16\\]"):
        hw.with_knobs(**{"bits.weight": 4})
    assert backend.estimate(gemm(8, 8, 8), hw).feasible
