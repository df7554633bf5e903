"""The mapper: traffic formula vs literal loop-nest simulation, pruning vs brute force, SCALE-Sim cycles."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import backend
from backend import systolic, tiling
from backend.contraction import Gemm
from backend.costs import consts
from backend.mapper import map_gemm, objective, schedule_cost, splits

DATA = Path(__file__).parent / "data"


def simulate_fetches(P, tiles, order):
    """Walk the tiled loop nest literally; count elements fetched per operand, with one tile of each operand
    resident (a fetch happens when the operand's tile coordinates change)."""
    trips = [-(-p // t) for p, t in zip(P, tiles)]
    rel = {"A": (0, 1), "B": (1, 2), "C": (0, 2)}
    cur = {x: None for x in rel}
    fetched = {x: 0 for x in rel}
    for idx in itertools.product(*[range(trips[d]) for d in order]):
        coord = dict(zip(order, idx))
        for x, dims in rel.items():
            key = tuple(coord[d] for d in dims)
            if key != cur[x]:
                cur[x] = key
                n = 1
                for d in dims:
                    n *= min(tiles[d], P[d] - key[dims.index(d)] * tiles[d])
                fetched[x] += n
    return fetched


@pytest.mark.parametrize("P", [(5, 7, 3), (8, 4, 6), (9, 1, 10), (3, 12, 5)])
def test_traffic_formula_matches_loop_nest_simulation(P):
    t = tiling.level_table(*P, 1, 1, 1, 1, all_orders=True)
    for i in range(len(t.order)):
        order = tiling.ORDERS[int(t.order[i])]
        sim = simulate_fetches(P, [int(x) for x in t.tiles[i]], order)
        sizes = {"A": P[0] * P[1], "B": P[1] * P[2], "C": P[0] * P[2]}
        for xi, x in enumerate("ABC"):
            assert sizes[x] * int(t.fetch_factor[i, xi]) == sim[x], (P, t.tiles[i], order, x)
        # traffic (1-bit elements, accumulator 1 bit): A + B fetches, C written each visit and read back after
        visits = sim["C"]
        assert t.traffic_bits[i] == sim["A"] + sim["B"] + 2 * visits - sizes["C"]


def test_smallest_tile_per_trip_count_dominates():
    P = (11, 6, 13)
    t = tiling.level_table(*P, 8, 8, 8, 32, all_orders=True)
    listed = {(tuple(int(x) for x in t.tiles[i]), int(t.order[i])): i for i in range(len(t.order))}
    for tiles in itertools.product(*[range(1, p + 1) for p in P]):
        trips = tuple(-(-p // x) for p, x in zip(P, tiles))
        small = tuple(-(-p // q) for p, q in zip(P, trips))
        assert all(s <= x for s, x in zip(small, tiles))
        for o in range(6):
            if (small, o) in listed:
                sim_big = simulate_fetches(P, tiles, tiling.ORDERS[o])
                sim_small = simulate_fetches(P, small, tiling.ORDERS[o])
                assert sim_big == sim_small


def brute_force(g, c, res, target):
    """Every split x dataflow x tile x loop order at both levels x buffering, no pruning."""
    ba, bb, bacc = c.bits_a, c.bits_b, c.bits_acc
    sizes = (g.m * g.k * ba, g.k * g.n * bb, g.m * g.n * ba)
    res_bits = g.b * sum(s for s, r in zip(sizes, res) if r)
    if res_bits > c.glb_bits / 2:
        res, res_bits = (False,) * 3, 0
    ot = tiling.level_table(g.m, g.k, g.n, ba, bb, ba, bacc, tuple(0 if r else 1 for r in res), all_orders=True)
    best = np.inf
    for _, b1, m1, n1 in splits(g, c.cores):
        lt = tiling.level_table(m1, g.k, n1, ba, bb, ba, bacc, all_orders=True)
        for df in c.dataflows:
            cc = systolic.compute_cycles(df, m1, g.k, n1, c.rows, c.cols, b1)
            port = systolic.array_traffic_bits(df, m1, g.k, n1, c.rows, c.cols, ba, bb, ba, bacc, b1)
            for dbl, dbd in itertools.product((True, False), repeat=2):
                lok = lt.cap_bits * (2 if dbl else 1) <= c.local_bits
                ook = ot.cap_bits * (2 if dbd else 1) <= c.glb_bits - res_bits
                if not lok.any() or not ook.any():
                    continue
                cyc, parts, _ = schedule_cost(c, g.macs, cc, port, b1 * lt.traffic_bits[lok][:, None],
                                              lt.edge_bits[lok][:, None], dbl, g.b * ot.traffic_bits[ook][None, :],
                                              ot.edge_bits[ook][None, :], dbd)
                best = min(best, float(objective(target, cyc, sum(parts.values())).min()))
    return best


CASES = [
    ((1, 24, 16, 20), dict(cores=1, pe_rows=4, pe_cols=8, local_buffer_kb=0.25), (False, False, False)),
    ((3, 10, 16, 9), dict(cores=2, pe_rows=8, pe_cols=4, local_buffer_kb=0.5), (True, False, True)),
    ((1, 17, 33, 12), dict(cores=4, pe_rows=4, pe_cols=4, local_buffer_kb=0.125, global_buffer_mb=0.002),
     (False, False, False)),
    ((2, 32, 8, 32), dict(cores=2, pe_rows=16, pe_cols=2, local_buffer_kb=1, local_bw_words_per_cycle=4,
                          global_buffer_mb=0.001), (True, True, False)),
]


@pytest.mark.parametrize("shape, knobs, res, target", [
    (*CASES[0], "edp"), (*CASES[0], "latency"), (*CASES[1], "energy"), (*CASES[2], "edp"), (*CASES[3], "latency"),
    (*CASES[3], "edp"),
])
def test_mapper_matches_brute_force(shape, knobs, res, target):
    hw = backend.edge_hardware(**knobs)
    c = consts(hw)
    g = Gemm(*shape)
    got = map_gemm(g, c, res, target)
    assert got.feasible
    want = brute_force(g, c, res, target)
    e = got.energy_j
    assert objective(target, got.cycles, e) == pytest.approx(want, rel=1e-9)


def test_scalesim_stored_cycles():
    """SCALE-Sim 3 outputs stored by bench/scalesim_compare.py --store (compute-bound configuration)."""
    cases = json.loads((DATA / "scalesim_cycles.json").read_text())["cases"]
    assert len(cases) >= 12
    for cs in cases:
        cc = systolic.compute_cycles(cs["dataflow"], cs["m"], cs["k"], cs["n"], cs["rows"], cs["cols"])
        assert cc == pytest.approx(cs["scalesim_cycles"], rel=0.05), cs
    # the whole estimate on a compute-bound machine stays within 5% too
    from backend_graphs import gemm
    for cs in cases[::4]:
        hw = backend.edge_hardware(pe_rows=cs["rows"], pe_cols=cs["cols"], local_buffer_kb=65536,
                                   local_bw_words_per_cycle=65536, global_buffer_mb=64)
        hw = hw.model_copy(update={
            "tensor_unit": hw.tensor_unit.model_copy(update={"dataflows": (cs["dataflow"],)}),
            "global_buffer": hw.global_buffer.model_copy(update={"bw_words_per_cycle": 65536}),
            "dram": hw.dram.model_copy(update={"bw_words_per_cycle": 65536})})
        est = backend.estimate(gemm(cs["m"], cs["k"], cs["n"]), hw, target="latency")
        assert est.ops[0].cycles == pytest.approx(cs["scalesim_cycles"], rel=0.05)
        assert est.ops[0].schedule["bound"] == "compute"
