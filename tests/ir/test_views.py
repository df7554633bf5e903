"""Layouts traced through reshapes and transposes address the same elements numpy's reshape/transpose do."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ir import Access, Op, OpKind
from ir.views import Atoms, Untraceable, backward, forward, substitute


def _factorisations(n: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(n,)]
    return [(d, *rest) for d in range(1, n + 1) if n % d == 0 for rest in _factorisations(n // d, parts - 1)]


def reshape_op(src: tuple[int, ...], dst: tuple[int, ...]) -> Op:
    dims = {f"i{j}": s for j, s in enumerate(dst)}
    return Op("r", OpKind.RESHAPE, dims, [Access("x", tuple("@reshape" for _ in src))], Access("y", tuple(dims)),
              fn="reshape")


def transpose_op(src: tuple[int, ...], axes: tuple[int, ...]) -> Op:
    dst = tuple(src[a] for a in axes)
    dims = {f"i{j}": s for j, s in enumerate(dst)}
    ix = [""] * len(src)
    for p, a in enumerate(axes):
        ix[a] = f"i{p}"
    return Op("t", OpKind.TRANSPOSE, dims, [Access("x", tuple(ix))], Access("y", tuple(dims)), fn="transpose")


@st.composite
def chains(draw):
    """A source shape and a chain of reshapes/transposes applied to it."""
    shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4, 6]), min_size=1, max_size=4)))
    n = int(np.prod(shape))
    steps = []
    cur = shape
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            new = draw(st.sampled_from(_factorisations(n, draw(st.integers(1, 4)))))
            steps.append(("reshape", cur, new))
            cur = new
        else:
            axes = draw(st.permutations(range(len(cur))))
            steps.append(("transpose", cur, tuple(axes)))
            cur = tuple(cur[a] for a in axes)
    return shape, steps


def apply(x: np.ndarray, steps) -> np.ndarray:
    for kind, _, arg in steps:
        x = x.reshape(arg) if kind == "reshape" else x.transpose(arg)
    return x


def op_of(step) -> Op:
    kind, src, arg = step
    return reshape_op(src, arg) if kind == "reshape" else transpose_op(src, arg)


def leaf_values(atoms: Atoms, values: dict[str, int]) -> dict[str, int]:
    """Values of every (split) atom from the values of the original ones."""
    out = dict(values)
    work = list(values)
    while work:
        a = work.pop()
        if a in atoms.split:
            hi, lo = atoms.split[a]
            out[hi], out[lo] = divmod(out[a], atoms.size[lo])
            work += [hi, lo]
    return out


def evaluate(expr: str, values: dict[str, int]) -> int:
    return eval(expr, {}, dict(values))  # expressions are sums of name*int and ints


@settings(max_examples=120, deadline=None)
@given(chains())
def test_forward_layout_matches_numpy(chain):
    shape, steps = chain
    src = np.arange(int(np.prod(shape))).reshape(shape)
    dst = apply(src, steps)
    atoms = Atoms()
    layout = [[atoms.new(f"a{j}", s)] for j, s in enumerate(shape)]
    try:
        for step in steps:
            layout, _ = forward(atoms, op_of(step), {0: layout}, _out_shape(step))
    except Untraceable:
        return  # a reshape whose boundaries do not nest: no layout is claimed
    exprs = [atoms.expr(axis) for axis in layout]
    for coords in itertools.product(*(range(s) for s in shape)):
        vals = leaf_values(atoms, {f"a{j}": c for j, c in enumerate(coords)})
        assert dst[tuple(evaluate(e, vals) for e in exprs)] == src[coords]


@settings(max_examples=120, deadline=None)
@given(chains())
def test_backward_layout_matches_numpy(chain):
    shape, steps = chain
    src = np.arange(int(np.prod(shape))).reshape(shape)
    dst = apply(src, steps)
    atoms = Atoms()
    layout = [[atoms.new(f"a{j}", s)] for j, s in enumerate(dst.shape)]
    try:
        for step in reversed(steps):
            layout = backward(atoms, op_of(step), layout, step[1])
    except Untraceable:
        return
    exprs = [atoms.expr(axis) for axis in layout]
    for coords in itertools.product(*(range(s) for s in dst.shape)):
        vals = leaf_values(atoms, {f"a{j}": c for j, c in enumerate(coords)})
        assert src[tuple(evaluate(e, vals) for e in exprs)] == dst[coords]


def _out_shape(step) -> tuple[int, ...]:
    kind, src, arg = step
    return tuple(arg) if kind == "reshape" else tuple(src[a] for a in arg)


def test_head_split_and_merge_trace_without_loss():
    """[s, h*d] -> [s, h, d] -> [h, s, d]: the head-major view reads the projection at h*d_size + d."""
    atoms = Atoms()
    layout = [[atoms.new("h", 4)], [atoms.new("s", 5)], [atoms.new("d", 3)]]
    layout = backward(atoms, transpose_op((5, 4, 3), (1, 0, 2)), layout, (5, 4, 3))
    layout = backward(atoms, reshape_op((5, 12), (5, 4, 3)), layout, (5, 12))
    assert [atoms.expr(a) for a in layout] == ["s", "h*3+d"]


def test_reshape_that_does_not_nest_is_refused():
    atoms = Atoms()
    layout = [[atoms.new("a", 2)], [atoms.new("b", 3)]]
    with pytest.raises(Untraceable):
        atoms.regroup(layout, (3, 2))  # 2x3 -> 3x2 mixes both digits in each new axis


def test_splitting_can_be_forbidden():
    atoms = Atoms(allow_split=False)
    layout = [[atoms.new("n", 12)]]
    with pytest.raises(Untraceable):
        atoms.regroup(layout, (3, 4))
    atoms = Atoms()
    split = atoms.regroup([[atoms.new("n", 12)]], (3, 4))
    assert [atoms.expr(a) for a in split] == ["n_hi", "n_lo"] and atoms.split["n"] == ("n_hi", "n_lo")
    assert (atoms.size["n_hi"], atoms.size["n_lo"]) == (3, 4)


def test_substitute_rewrites_a_split_dim_exactly():
    """A strided, padded window ``oh*2+kh-1`` over a dim split 12 -> (3, 4) addresses the same positions."""
    atoms = Atoms()
    atoms.regroup([[atoms.new("oh", 12)]], (3, 4))
    atoms.new("kh", 3)
    e = substitute(atoms, "oh*2+kh-1")
    assert e == "oh_hi*8+oh_lo*2+kh-1"
    for oh, kh in itertools.product(range(12), range(3)):
        hi, lo = divmod(oh, 4)
        assert evaluate(e, {"oh_hi": hi, "oh_lo": lo, "kh": kh}) == oh * 2 + kh - 1
