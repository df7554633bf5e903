"""The mapper: traffic formula vs literal loop-nest simulation, Pareto pruning vs brute force, the exact search vs
brute force over the unpruned space with 2, 3 and 4 memory levels, SCALE-Sim cycles, the per-PE level."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import backend
from backend import systolic, tiling
from backend.contraction import Gemm
from backend.cost import Ports, objective, schedule_cost
from backend.costs import DRAM, consts
from backend.hardware import Hardware
from backend.mapper import ArrayChoice, array_stage, map_gemm, residency, splits

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
    t = tiling.level_table(*P, (1, 1, 1, 1), orders="all")
    for i in range(len(t.order)):
        order = tiling.ORDERS[int(t.order[i])]
        sim = simulate_fetches(P, [int(x) for x in t.tiles[i]], order)
        sizes = {"A": P[0] * P[1], "B": P[1] * P[2], "C": P[0] * P[2]}
        for xi, x in enumerate("ABC"):
            assert sizes[x] * int(t.fetch_factor[i, xi]) == sim[x], (P, t.tiles[i], order, x)
        # 1-bit elements: A and B fetched down; C read back (down) and written out (up) on every extra visit
        assert t.down[i, 0] == sim["A"] and t.down[i, 1] == sim["B"]
        assert t.down[i, 2] == sim["C"] - sizes["C"] and t.up[i, 2] == sim["C"]


def test_smallest_tile_per_trip_count_dominates():
    P = (11, 6, 13)
    t = tiling.level_table(*P, (8, 8, 8, 32), orders="all")
    listed = {(tuple(int(x) for x in t.tiles[i]), int(t.order[i])) for i in range(len(t.order))}
    for tiles in itertools.product(*[range(1, p + 1) for p in P]):
        trips = tuple(-(-p // x) for p, x in zip(P, tiles))
        small = tuple(-(-p // q) for p, q in zip(P, trips))
        assert all(s <= x for s, x in zip(small, tiles))
        for o in range(6):
            if (small, o) in listed:
                assert simulate_fetches(P, tiles, tiling.ORDERS[o]) == simulate_fetches(P, small, tiling.ORDERS[o])


def test_order_reductions_keep_what_the_cost_needs():
    """"total" keeps per tile the least-traffic order; "psum" the least A+B order with and without partial sums."""
    full = tiling.level_table(13, 20, 9, (8, 8, 8, 32), orders="all")
    for mode in ("total", "psum"):
        red = tiling.level_table(13, 20, 9, (8, 8, 8, 32), orders=mode)
        for tiles in {tuple(x) for x in full.tiles.tolist()}:
            rows = np.all(full.tiles == tiles, axis=1)
            kept = np.all(red.tiles == tiles, axis=1)
            tot = (full.down + full.up).sum(1)[rows]
            if mode == "total":
                assert (red.down + red.up).sum(1)[kept].min() == tot.min()
            else:
                psum = full.down[rows, 2]
                ab = full.down[rows, 0] + full.down[rows, 1]
                for cls in (psum == 0, psum > 0):
                    if cls.any():
                        red_ab = (red.down[kept, 0] + red.down[kept, 1])[(red.down[kept, 2] > 0) == (psum[cls] > 0)[0]]
                        assert red_ab.min() == ab[cls].min()


@pytest.mark.parametrize("seed", range(30))
def test_pareto_helpers_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 70))
    f = rng.integers(0, 6, (n, 3)).astype(float)
    brute = {tuple(x) for i, x in enumerate(f) if not any(np.all(f[j] <= x) and np.any(f[j] < x) for j in range(n))}
    for got in (tiling.pareto(f), tiling.pareto_grouped(f[:, 0], f[:, 1], f[:, 2])):
        assert {tuple(x) for x in f[got]} == brute and len(got) == len(brute)
    two = f[:, :2]
    brute2 = {tuple(x) for x in two if not any(np.all(y <= x) and np.any(y < x) for y in two)}
    assert {tuple(x) for x in two[tiling.pareto(two)]} == brute2


@pytest.mark.parametrize("seed", range(20))
def test_front_sorter_fronts_of_subsets_match_brute_force(seed):
    """Fronts of many subsets at once (the capacities of a level) equal each subset's brute-force front, with
    the same tie rule (of equal points the first)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    f = rng.integers(0, 5, (n, 3)).astype(float)
    masks = rng.random((4, n)) < rng.random((4, 1))
    for feats, grouped in ((f, True), (f[:, :2], False), (f[:, :1], False), (f, False)):
        got = tiling.FrontSorter(feats, grouped=grouped).fronts(masks)
        for mask, row in zip(masks, got):
            idx = np.flatnonzero(mask)
            want = [i for i in idx if not any(np.all(feats[j] <= feats[i]) and (np.any(feats[j] < feats[i]) or j < i)
                                               for j in idx if j != i)]
            assert list(np.flatnonzero(row)) == want


# -- exact search vs brute force over the unpruned space -------------------------------------------------------------
def all_choices(c, m, k, n):
    """Every dataflow with every power-of-two per-PE expansion that fits, single and double buffered."""
    out = []
    for df in c.dataflows:
        out.append(ArrayChoice(df))
        pe = c.pe_level
        x = systolic.STATIONARY[df]
        if pe < 0 or not c.levels[pe].holds[x]:
            continue
        words = int(c.levels[pe].cap_bits // (c.bits_a, c.bits_b, c.bits_acc)[x])
        for er in (1, 2, 4, 8, 16, 32, 64):
            for ec in (1, 2, 4, 8, 16, 32, 64):
                for double in (False, True):
                    if er * ec * (2 if double else 1) <= words and (not double or c.levels[pe].db):
                        out.append(ArrayChoice(df, er, ec, double, True))
    return out


def brute_force(g, c, resident, target):
    """Every split x array choice x (tile, order, buffering) at every tiled level, no pruning, one cost equation."""
    res = residency(c, g, resident)
    bits = (c.bits_a, c.bits_b, c.bits_out, c.bits_acc)
    sizes = (g.m * g.k * c.bits_a, g.k * g.n * c.bits_b, g.m * g.n * c.bits_out)
    k = Ports.of([c], 1)
    best = np.inf
    for _, b1, m1, n1 in splits(g, c.cores, c.core_split, c.tile_sizes):
        per_level = []
        for i, lv in enumerate(c.levels):
            if lv.sharing == "per_pe":
                per_level.append(None)
                continue
            mm, nn, bb = (m1, n1, b1) if lv.sharing == "per_core" else (g.m, g.n, g.b)
            outward = c.home != DRAM and i >= c.home
            w = tuple(int(h and not (r and outward)) for h, r in zip(lv.holds, res))
            cap = lv.cap_bits - (g.b * sum(s for s, r in zip(sizes, res) if r) if i == c.home and not lv.split else 0)
            t = tiling.level_table(mm, g.k, nn, bits, w, orders="all")
            need = t.cap.max(1) if lv.split else t.cap.sum(1)
            rows, dbs = [], []
            for db in ((False, True) if lv.db else (False,)):
                ok = np.nonzero(need * (2 if db else 1) <= cap)[0]
                rows.append(ok)
                dbs.append(np.full(ok.size, db))
            idx, db = np.concatenate(rows), np.concatenate(dbs)
            if idx.size == 0:
                per_level = None
                break
            groups = {}
            for x, p in enumerate(lv.parent):
                if p is not None and w[x]:
                    groups.setdefault(p, []).append(x)
            # identical candidates cost the same: keep one of each (not a pruning by dominance)
            key = np.column_stack([db] + [getattr(t, f)[idx][:, xs].sum(1) for xs in groups.values()
                                          for f in ("down", "up", "edge_down", "edge_up")])
            first = np.unique(key, axis=0, return_index=True)[1]
            per_level.append((idx[first], db[first], t, groups, bb, lv.instances))
        if per_level is None:
            continue
        tiled = [e for e in per_level if e is not None]
        shape_axes = len(tiled)
        for ch in all_choices(c, m1, g.k, n1):
            cc, rw = array_stage(c, np.array([[c.rows]]), np.array([[c.cols]]), [ch], b1, m1, g.k, n1)
            fills, edges, dbl = [], [], []
            ax = 0
            for e in per_level:
                if e is None:
                    fills.append(None)
                    edges.append(None)
                    dbl.append(False)
                    continue
                idx, db, t, groups, bb, inst = e
                shape = [1] * shape_axes
                shape[ax] = -1
                ax += 1
                fills.append({p: (bb * inst * t.down[idx][:, xs].sum(1).reshape(shape).astype(float),
                                  bb * inst * t.up[idx][:, xs].sum(1).reshape(shape).astype(float))
                              for p, xs in groups.items()})
                edges.append({p: (inst * t.edge_down[idx][:, xs].sum(1).reshape(shape).astype(float),
                                  inst * t.edge_up[idx][:, xs].sum(1).reshape(shape).astype(float))
                              for p, xs in groups.items()})
                dbl.append(db.reshape(shape))
            cyc, en = schedule_cost(k, g.macs, cc[0, 0], [(r[0, 0], w_[0, 0]) for r, w_ in rw], fills, edges, dbl)
            best = min(best, float(np.min(objective(target, cyc, en))))
    return best


def _hw(memory, cores=1, rows=4, cols=4, dataflows=("os", "ws", "is"), bits=(8, 8, 32)):
    return Hardware.from_dict({
        "name": "test", "node_nm": 22, "clock_hz": 1e9, "cores": cores,
        "bits": {"weight": bits[0], "activation": bits[1], "accumulator": bits[2]},
        "tensor_unit": {"pe_rows": rows, "pe_cols": cols, "dataflows": list(dataflows)},
        "vector_unit": {"lanes": 4}, "memory": memory,
        "dram": {"kind": "LPDDR4", "capacity_gb": 1, "bw_words_per_cycle": 8}})


TWO = [{"name": "local", "sharing": "per_core", "size_bytes": 96, "bw_words_per_cycle": 6},
       {"name": "global", "sharing": "per_chip", "size_bytes": 700, "bw_words_per_cycle": 16, "resident_fraction": 0.5}]
THREE = [{"name": "rf", "sharing": "per_pe", "size_bytes": 4, "holds": ["weights"], "bw_words_per_cycle": 2},
         {"name": "local", "sharing": "per_core", "size_bytes": 48, "partition": "split",
          "read_bw_words_per_cycle": 6, "write_bw_words_per_cycle": 3},
         {"name": "global", "sharing": "per_chip", "size_bytes": 800, "read_bw_words_per_cycle": 16,
          "write_bw_words_per_cycle": 8, "resident_fraction": 0.25}]
FOUR_TPU = [{"name": "wreg", "sharing": "per_pe", "size_bytes": 2, "holds": ["weights"], "bw_words_per_cycle": 1},
            {"name": "acc", "sharing": "per_core", "size_bytes": 160, "holds": ["outputs"], "bw_words_per_cycle": 8},
            {"name": "wfifo", "sharing": "per_core", "size_bytes": 64, "holds": ["weights"], "bw_words_per_cycle": 4,
             "double_buffering": False},
            {"name": "ub", "sharing": "per_chip", "size_bytes": 900, "holds": ["inputs", "outputs"],
             "bw_words_per_cycle": 12, "resident_fraction": 0.5}]
FOUR_DEEP = [{"name": "rf", "sharing": "per_pe", "size_bytes": 3, "holds": ["inputs"], "bw_words_per_cycle": 2},
             {"name": "l1", "sharing": "per_core", "size_bytes": 40, "bw_words_per_cycle": 4},
             {"name": "l2", "sharing": "per_core", "size_bytes": 200, "holds": ["inputs", "weights"],
              "read_bw_words_per_cycle": 6, "write_bw_words_per_cycle": 5},
             {"name": "glb", "sharing": "per_chip", "size_bytes": 1500, "bw_words_per_cycle": 10}]

CASES = [
    ("2 levels", TWO, 1, (1, 12, 16, 10), (False, False, False), "edp"),
    ("2 levels, 2 cores, resident", TWO, 2, (3, 10, 16, 9), (True, False, True), "latency"),
    ("3 levels, RF + split ports", THREE, 1, (1, 13, 20, 9), (False, False, False), "edp"),
    ("3 levels, 2 cores", THREE, 2, (2, 9, 12, 14), (True, False, False), "energy"),
    ("4 levels, TPU-like", FOUR_TPU, 1, (1, 9, 12, 8), (True, False, False), "edp"),
    ("4 levels, two per-core", FOUR_DEEP, 2, (1, 6, 4, 7), (False, False, False), "latency"),
    ("4 levels, two per-core, edp", FOUR_DEEP, 1, (2, 4, 6, 5), (False, False, False), "edp"),
]


@pytest.mark.parametrize("name, memory, cores, shape, res, target", CASES, ids=[c[0] for c in CASES])
def test_mapper_matches_brute_force(name, memory, cores, shape, res, target):
    c = consts(_hw(memory, cores=cores))
    g = Gemm(*shape)
    got = map_gemm(g, c, res, target)
    assert got.feasible
    want = brute_force(g, c, res, target)
    assert np.isfinite(want)
    assert objective(target, got.cycles, got.energy_j) == pytest.approx(want, rel=1e-9), name


def test_sweep_equals_estimate_on_every_hierarchy():
    """The sweep runs the same search on many configurations at once: equal per configuration to estimate()."""
    from backend_graphs import gemm
    g = gemm(40, 56, 48)
    for memory in (TWO, THREE, FOUR_TPU, FOUR_DEEP):
        base = _hw(memory, cores=2)
        hws = [base.with_knobs(pe_rows=r, pe_cols=cc, clock_hz=f) for r in (2, 4, 8) for cc in (2, 4) for f in (1e9, 5e8)]
        res = backend.sweep(g, hws)
        for i, hw in enumerate(hws):
            est = backend.estimate(g, hw)
            assert res.latency_s[i] == pytest.approx(est.latency_s, rel=1e-12)
            assert res.energy_j[i] == pytest.approx(est.energy_j, rel=1e-12)


# -- the array model --------------------------------------------------------------------------------------------------
def test_scalesim_stored_cycles():
    """SCALE-Sim 3 outputs stored by bench/scalesim_compare.py --store: the fold model is exact (every case), and a
    whole estimate on a machine whose buffers never bind reports exactly those cycles."""
    cases = json.loads((DATA / "scalesim_cycles.json").read_text())["cases"]
    assert len(cases) >= 12
    for cs in cases:
        cc = systolic.compute_cycles(cs["dataflow"], cs["m"], cs["k"], cs["n"], cs["rows"], cs["cols"])
        assert cc == cs["scalesim_cycles"], cs
    from backend_graphs import gemm
    for cs in cases[::4]:
        hw = backend.presets.get("systolic-edge").with_knobs(
            pe_rows=cs["rows"], pe_cols=cs["cols"], local_buffer_kb=65536, local_bw_words_per_cycle=65536,
            global_buffer_mb=64, global_bw_words_per_cycle=65536, dram_bw_words_per_cycle=65536,
            **{"tensor_unit.dataflows": [cs["dataflow"]]})
        est = backend.estimate(gemm(cs["m"], cs["k"], cs["n"]), hw, target="latency")
        assert est.ops[0].schedule["cycles_by_term"]["compute"] == cs["scalesim_cycles"]
        assert est.ops[0].schedule["bound"] == "compute"


def test_per_pe_expansion_cycles_and_traffic_closed_form():
    """A WS array of R x C PEs keeping er x ec weights each: folds over a (R er) x (C ec) virtual array, E = er ec
    cycles per streamed row, R E cycles to load (hidden when double-buffered), inputs re-read once per virtual
    column fold, no partial sums once R er covers K."""
    m, k, n, R, C = 50, 64, 96, 8, 4
    for er, ec in [(1, 1), (2, 4), (8, 1), (4, 8)]:
        e = er * ec
        folds = -(-k // (R * er)) * -(-n // (C * ec))
        single = systolic.compute_cycles("ws", m, k, n, R, C, 1, er, ec, False)
        double = systolic.compute_cycles("ws", m, k, n, R, C, 1, er, ec, True)
        assert single == folds * (e * m + R * e + R + C - 2) - 1
        assert double == folds * (max(e * m, R * e) + R + C - 2) - 1 + R * e
        a, w, c_down, c_up = systolic.operand_traffic("ws", m, k, n, R, C, (8, 8, 8, 32), 1, er, ec)
        assert a == m * k * -(-n // (C * ec)) * 8 and w == k * n * 8
        assert c_down == m * n * (-(-k // (R * er)) - 1) * 32 and c_up == c_down + m * n * 8
    # er = ec = 1, single-buffered: exactly SCALE-Sim's 2R + C + M - 2 per fold
    assert systolic.compute_cycles("ws", m, k, n, R, C) == -(-k // R) * -(-n // C) * (2 * R + C + m - 2) - 1


def test_register_file_lets_a_tall_array_compute():
    """CATransformers' point: 256x8 PEs behind a 128 words/cycle local buffer starve without PE-local reuse and
    compute with it (the same knobs on both templates)."""
    from backend_graphs import gemm
    g = gemm(197, 768, 768)
    with_rf = backend.estimate(g, backend.presets.get("catransformers-edge").with_knobs(clock_hz=5e8))
    without = backend.estimate(g, backend.presets.get("systolic-edge"))
    ideal = 197 * 768 * 768 / (256 * 8)
    assert without.ops[0].schedule["bound"] == "local_buffer"
    assert with_rf.ops[0].schedule["per_pe"] is not None
    assert with_rf.ops[0].cycles < 1.6 * ideal < without.ops[0].cycles


def test_sizes_beyond_exact_arithmetic_are_refused():
    from backend_graphs import gemm

    from backend import MappingError
    hw = backend.presets.get("catransformers-edge")
    with pytest.raises(MappingError, match="too large to model exactly"):
        backend.estimate(gemm(2 ** 40, 1024, 1024), hw)
