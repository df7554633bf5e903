"""Property tests: physical lower bounds hold, and more buffer never makes the exact optimum worse."""

from dataclasses import replace

from backend_graphs import gemm
from hypothesis import given, settings
from hypothesis import strategies as st

import backend
from backend.contraction import Gemm
from backend.costs import consts
from backend.mapper import map_gemm, objective

dims = st.integers(1, 300)
knobs = st.fixed_dictionaries({
    "cores": st.sampled_from([1, 2, 4]), "pe_rows": st.sampled_from([32, 64, 128, 256]),
    "pe_cols": st.sampled_from([2, 4, 8, 16, 32, 64]), "local_buffer_kb": st.sampled_from([2, 16, 64, 256, 1024]),
    "local_bw_words_per_cycle": st.sampled_from([32, 64, 128]), "global_buffer_mb": st.sampled_from([0.0625, 2, 8]),
})
targets = st.sampled_from(["latency", "energy", "edp"])


@settings(max_examples=40, deadline=None)
@given(m=dims, k=dims, n=dims, kn=knobs, target=targets)
def test_latency_and_energy_lower_bounds(m, k, n, kn, target):
    hw = backend.edge_hardware(**kn)
    est = backend.estimate(gemm(m, k, n), hw, target=target)
    assert est.feasible
    c = consts(hw)
    macs = m * k * n
    compulsory_bits = (m * k + k * n + m * n) * 8           # input, weight and output all live in DRAM
    floor_s = max(macs / hw.pes, compulsory_bits / c.dram_bw) / hw.clock_hz
    assert est.latency_s >= floor_s * (1 - 1e-12)
    assert est.energy_j >= macs * hw.tech.mac_energy_j(8)
    assert est.energy_by_component_j["dram"] >= compulsory_bits * hw.tech.dram_energy_j_per_bit("LPDDR4") * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 4), m=dims, k=dims, n=dims, kn=knobs, target=targets, grow=st.sampled_from([2, 4, 16]),
       res=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_larger_buffers_never_worse(b, m, k, n, kn, target, grow, res):
    c = consts(backend.edge_hardware(**kn))
    g = Gemm(b, m, k, n)
    base = map_gemm(g, c, res, target)
    for i in (1, 2):                         # the local and the global buffer
        levels = list(c.levels)
        levels[i] = replace(levels[i], cap_bits=levels[i].cap_bits * grow)
        r = map_gemm(g, replace(c, levels=tuple(levels)), res, target)
        if base.feasible:
            assert r.feasible
            before = objective(target, base.cycles, base.energy_j)
            assert objective(target, r.cycles, r.energy_j) <= before * (1 + 1e-12)
