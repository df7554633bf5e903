"""Tensor layouts as mixed-radix digits of named loop dims, traced through reshapes, transposes and slices.

Fusion passes need to know how a tensor several reshapes away is addressed by the loop dims of the op being
built (attention reading Q straight from a projection's ``[b, s, h*d]`` output, an epilogue reading a GEMM's
result after a reshape). A *layout* gives, per tensor axis, its digits, most significant first; a digit is an
*atom* (a loop dim, by name) or a constant ``("c", value, size)``. An axis's index is the mixed-radix number of
its digits, so every axis is an affine expression of the atoms. A reshape regroups the digits of all axes into
the new shape, splitting an atom in two (``a = hi*size(lo) + lo``) when an axis boundary falls inside it; an op
with affine index maps (transpose, broadcast, slice, take at a constant) permutes, drops or pins digits. Anything
else raises ``Untraceable``, and the caller stops tracing there: a layout is exact or absent, never approximate.
"""

from __future__ import annotations

from . import index as ix
from .graph import Op, OpKind

Digit = tuple  # ("a", atom) | ("c", value, size)
Layout = list[list[Digit]]


class Untraceable(Exception):
    """The access cannot be written as affine expressions of the atoms (internal to the fusion passes)."""


class Atoms:
    """Named loop dims with sizes; an atom may be split into (hi, lo) atoms by a reshape."""

    def __init__(self, allow_split: bool = True):
        self.size: dict[str, int] = {}
        self.split: dict[str, tuple[str, str]] = {}
        self.allow_split = allow_split

    def new(self, name: str, size: int) -> Digit:
        if name in self.size:
            raise ValueError(f"atom {name!r} exists")
        self.size[name] = int(size)
        return ("a", name)

    def dsize(self, d: Digit) -> int:
        return self.size[d[1]] if d[0] == "a" else d[2]

    def leaves(self, d: Digit) -> list[Digit]:
        """The digit with every split atom replaced by its parts; size-1 digits dropped."""
        if d[0] == "a" and d[1] in self.split:
            hi, lo = self.split[d[1]]
            return self.leaves(("a", hi)) + self.leaves(("a", lo))
        return [d] if self.dsize(d) > 1 else []

    def expand(self, axis: list[Digit]) -> list[Digit]:
        return [leaf for d in axis for leaf in self.leaves(d)]

    def atoms_of(self, layout: Layout) -> set[str]:
        return {d[1] for axis in layout for d in self.expand(axis) if d[0] == "a"}

    def _split(self, d: Digit, hi_size: int) -> tuple[Digit, Digit]:
        s = self.dsize(d)
        lo_size = s // hi_size
        if d[0] == "c":
            return ("c", d[1] // lo_size, hi_size), ("c", d[1] % lo_size, lo_size)
        if not self.allow_split:
            raise Untraceable(f"dim {d[1]!r} would have to be split")
        hi, lo = f"{d[1]}_hi", f"{d[1]}_lo"
        self.size[hi], self.size[lo] = hi_size, lo_size
        self.split[d[1]] = (hi, lo)
        return ("a", hi), ("a", lo)

    def regroup(self, layout: Layout, shape: tuple[int, ...]) -> Layout:
        """The layout of a row-major reshape of ``layout`` to ``shape``."""
        flat = [d for axis in layout for d in self.expand(axis)]
        out: Layout = []
        for size in shape:
            axis: list[Digit] = []
            need = size
            while need > 1:
                if not flat:
                    raise Untraceable("reshape to a larger tensor")
                d = flat[0]
                s = self.dsize(d)
                if s <= need:
                    if need % s:
                        raise Untraceable("reshape boundaries do not nest")
                    axis.append(flat.pop(0))
                    need //= s
                else:
                    if s % need:
                        raise Untraceable("reshape boundaries do not nest")
                    hi, lo = self._split(d, need)
                    axis.append(hi)
                    flat[0] = lo
                    need = 1
            out.append(axis)
        if flat:
            raise Untraceable("reshape to a smaller tensor")
        return out

    def expr(self, axis: list[Digit], names: dict[str, str] | None = None) -> str:
        """The axis as an affine index expression over (renamed) atoms."""
        terms, const, stride = [], 0, 1
        for d in reversed(self.expand(axis)):
            if d[0] == "c":
                const += d[1] * stride
            else:
                n = (names or {}).get(d[1], d[1])
                terms.append(n if stride == 1 else f"{n}*{stride}")
            stride *= self.dsize(d)
        text = "+".join(reversed(terms))
        if const:
            text = f"{text}+{const}" if text else str(const)
        return text or "0"


def substitute(atoms: Atoms, expr: str) -> str:
    """``expr`` (affine over atoms) rewritten over the leaves of the atoms that were split."""
    if ix.is_opaque(expr):
        if any(d in atoms.split for d in ix.dims_of(expr)):
            raise Untraceable(f"opaque index {expr!r} uses a split dim")
        return expr
    terms, const = ix.parse(expr)
    if not any(d in atoms.split for d, _ in terms):
        return expr
    out: list[str] = []
    for d, coef in terms:
        leaves = atoms.leaves(("a", d)) if d in atoms.split else [("a", d)]
        strides = [1] * len(leaves)
        for j in range(len(leaves) - 2, -1, -1):
            strides[j] = strides[j + 1] * atoms.dsize(leaves[j + 1])
        for leaf, stride in zip(leaves, strides):
            c = coef * stride
            out.append(leaf[1] if c == 1 else f"{leaf[1]}*{c}")
    text = "+".join(out)
    return f"{text}+{const}" if const > 0 else f"{text}{const}" if const < 0 else text


def _affine_term(expr: str) -> tuple[str | None, int]:
    """(dim, constant) of ``dim`` / ``dim+c`` / ``c``; Untraceable otherwise."""
    if ix.is_opaque(expr):
        raise Untraceable(f"opaque index {expr!r}")
    terms, const = ix.parse(expr)
    if not terms:
        return None, const
    if len(terms) != 1 or terms[0][1] != 1:
        raise Untraceable(f"index {expr!r} is not a dim plus a constant")
    return terms[0][0], const


def is_view(op: Op) -> bool:
    """Reshape, transpose, broadcast, slice or split: ops whose output is a re-addressing of one input."""
    return op.kind in (OpKind.RESHAPE, OpKind.TRANSPOSE, OpKind.SLICE) and len(op.inputs) == 1


def backward(atoms: Atoms, op: Op, out_layout: Layout, in_shape: tuple[int, ...], i: int = 0) -> Layout:
    """Layout of ``op.inputs[i]`` given the layout of ``op``'s output (``op`` a view or element-wise op)."""
    if op.kind == OpKind.RESHAPE and op.fn == "reshape":
        return atoms.regroup(out_layout, in_shape)
    dim_axis: dict[str, list[Digit]] = {}
    for e, axis in zip(op.output.index, out_layout):
        d, c = _affine_term(e)
        if d is None or c:
            if atoms.expand(axis):
                raise Untraceable("output axis at a constant position")
            continue
        dim_axis[d] = axis
    layout: Layout = []
    for e, size in zip(op.inputs[i].index, in_shape):
        d, c = _affine_term(e)
        if d is None:
            layout.append([("c", c, size)] if size > 1 else [])
            continue
        digits = dim_axis.get(d)
        if digits is None:
            raise Untraceable(f"dim {d!r} of the input is not an output dim")
        n = op.dims[d]
        if c == 0 and n == size:
            layout.append(list(digits))
        elif size % n == 0 and c % n == 0 and c + n <= size:
            layout.append([("c", c // n, size // n), *digits])
        else:
            raise Untraceable(f"slice {e!r} of an axis of size {size} does not align")
    return layout


def dims_from(atoms: Atoms, op: Op, known: dict[int, Layout]) -> dict[str, list[Digit]]:
    """Digits of each of ``op``'s dims, read from the inputs whose layouts are known (they must agree)."""
    dim_axis: dict[str, list[Digit]] = {}
    for i, layout in known.items():
        for e, axis in zip(op.inputs[i].index, layout):
            d, c = _affine_term(e)
            if d is None:
                if atoms.expand(axis):
                    raise Untraceable("a traced axis read at a constant position")
                continue
            if c or op.dims[d] != _size(atoms, axis):
                raise Untraceable(f"partial read {e!r} of a traced axis")
            if d in dim_axis and atoms.expand(dim_axis[d]) != atoms.expand(axis):
                raise Untraceable(f"dim {d!r} reads two different traced axes")
            dim_axis[d] = axis
    return dim_axis


def _size(atoms: Atoms, axis: list[Digit]) -> int:
    n = 1
    for d in atoms.expand(axis):
        n *= atoms.dsize(d)
    return n


def layout_of(atoms: Atoms, index: tuple[str, ...], dim_axis: dict[str, list[Digit]],
              shape: tuple[int, ...]) -> Layout:
    """Layout of an access (an operand or the output) whose index maps are over dims with known digits."""
    layout: Layout = []
    for e, size in zip(index, shape):
        d, c = _affine_term(e)
        if d is None:
            layout.append([("c", c, size)] if size > 1 else [])
            continue
        if d not in dim_axis:
            raise Untraceable(f"dim {d!r} is not traced")
        n = _size(atoms, dim_axis[d])
        if c == 0 and n == size:
            layout.append(list(dim_axis[d]))
        elif size % n == 0 and c % n == 0 and c + n <= size:
            layout.append([("c", c // n, size // n), *dim_axis[d]])
        else:
            raise Untraceable(f"index {e!r} of an axis of size {size} does not align")
    return layout


def forward(atoms: Atoms, op: Op, known: dict[int, Layout], out_shape: tuple[int, ...]
            ) -> tuple[Layout, dict[str, list[Digit]]]:
    """Layout of ``op``'s output and its dims' digits, given the layouts of some of its inputs."""
    if op.kind == OpKind.RESHAPE and op.fn == "reshape":
        if set(known) != {0}:
            raise Untraceable("reshape of an untraced input")
        return atoms.regroup(known[0], out_shape), {}
    dim_axis = dims_from(atoms, op, known)
    return layout_of(atoms, op.output.index, dim_axis, out_shape), dim_axis


def expressible(atoms: Atoms, layout: Layout, shape: tuple[int, ...]) -> bool:
    """``ir.validate`` accepts a plain dim only where it spans the whole axis: reject partial plain reads."""
    for axis, size in zip(layout, shape):
        e = atoms.expr(axis)
        if ix.is_plain(e) and atoms.size[e] != size:
            return False
    return True
