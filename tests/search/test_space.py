"""The ConfigSpace: known constraints become forbidden clauses that match a brute-force count, never proposed."""

from __future__ import annotations

import itertools

from searchkit import EDGE, gemm_study

import search
from search.space import Space


def test_pe_budget_forbids_exactly_the_oversized_arrays():
    sp = Space(search.load(gemm_study()), {"clock_hz": 5e8})
    brute = sum(1 for c, r, k, *_ in itertools.product(*EDGE.values()) if c * r * k <= 16384)
    assert sp.size() == brute == 3060       # 3,240 points, 4 (cores, rows, cols) combos x 45 over budget
    sp.cs.seed(1)
    for cfg in sp.cs.sample_configuration(500):
        v = sp.values(cfg)
        assert v["cores"] * v["pe_rows"] * v["pe_cols"] <= 16384
        assert all(type(x) is int for x in v.values())


def test_peak_tops_constraint_uses_the_fixed_clock():
    # 20 TOPS at 625 MHz allows 16,000 MACs/cycle: (4, 256, 16) = 16,384 is then over, unlike at 500 MHz
    d = gemm_study(constraints=[{"metric": "peak_tops", "max": 20}])
    at625 = Space(search.load(d), {"clock_hz": 6.25e8})
    at500 = Space(search.load(d), {"clock_hz": 5e8})
    assert not at625.legal({"cores": 4, "pe_rows": 256, "pe_cols": 16, "local_buffer_kb": 64,
                            "local_bw_words_per_cycle": 32, "global_buffer_mb": 2})
    assert at500.legal({"cores": 4, "pe_rows": 256, "pe_cols": 16, "local_buffer_kb": 64,
                        "local_bw_words_per_cycle": 32, "global_buffer_mb": 2})
    brute = sum(1 for c, r, k, *_ in itertools.product(*EDGE.values()) if 2 * c * r * k * 6.25e8 / 1e12 <= 20)
    assert at625.size() == brute


def test_forbidden_combination_and_default_moved_to_a_legal_point():
    d = gemm_study(forbidden=[{"cores": 1, "pe_rows": 32}], constraints=[])
    sp = Space(search.load(d))
    assert sp.size() == 3240 - 6 * 5 * 3 * 3
    assert not sp.legal({**sp.values(sp.cs.get_default_configuration()), "cores": 1, "pe_rows": 32})
    assert sp.legal(sp.values(sp.cs.get_default_configuration()))


def test_ranges_become_hyperparameters():
    d = gemm_study(hardware={"knobs": {"pe_rows": {"lo": 32, "hi": 256, "step": 32},
                                       "clock_hz": {"lo": 2e8, "hi": 1e9, "log": True}}}, constraints=[])
    sp = Space(search.load(d))
    assert sp.knobs["pe_rows"].choices() == (32, 64, 96, 128, 160, 192, 224, 256)
    v = sp.values(sp.cs.sample_configuration())
    assert v["pe_rows"] % 32 == 0 and 2e8 <= v["clock_hz"] <= 1e9
    assert sp.size() == float("inf")
