"""Parametric lowering: a tower's IR as exact multilinear functions of its pruning knobs, fitted once per base model.

A pruned tower's IR is the same text for every configuration except its numbers (dims, shapes, index-map
constants, names, folded-op statistics). The IR of a two-layer tower is lowered at every corner of the box spanned
by the base configuration and each shape knob (heads, FFN, width) at its lower end (8 lowerings); every number
that changes becomes an exact multilinear form of the knobs (affine in each; products such as FFN x width arise
from weight sizes), with rational coefficients; the forms are then checked against one more lowering where every
knob differs (middle values). The depth is the layer block's repeat count. Templates are fitted on fused graphs
(``ir.fuse``; ``fuse=False`` fits the unfused ones), so an instantiated graph is already fused. Instantiating a
configuration is filling numbers into text and parsing it (milliseconds, no torch or TVM needed), and gives the
very graph a fresh lowering gives.

A family whose text changes shape between lowerings, or whose numbers are not multilinear, does not fit: the caller
lowers afresh (logged). Templates are cached on disk (``CACHE/lowering/``), keyed by the base model's structure,
the tower, the batch and the code version; a cache file that fails its checksum or key is refitted.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

import ir

from .arch import Arch
from .cache import cache_root, digest
from .config import TowerConfig, TowerSpace
from .errors import ConfigError

log = logging.getLogger("catx.lowering")

FORMAT = "catx-parametric-tower"
VERSION = 3                                    # 2: fused graphs (and unfused ones); 3: multilinear forms
SHAPE_KNOBS = ("heads", "ffn", "width")        # layers only repeat the layer block
# the monomials of a multilinear form, as index sets into SHAPE_KNOBS: 1, h, f, w, hf, hw, fw, hfw
MONOMIALS = tuple(itertools.chain.from_iterable(itertools.combinations(range(len(SHAPE_KNOBS)), r)
                                                for r in range(len(SHAPE_KNOBS) + 1)))
NUMBER = re.compile(r"\d+")
PARTS = {"image": "vision", "text": "text"}


class FitError(ValueError):
    """The lowerings of a family do not follow one multilinear template (the caller lowers afresh)."""


def monomials(tc: TowerConfig) -> list[int]:
    """The values of ``MONOMIALS`` at ``tc``'s shape knobs."""
    v = [getattr(tc, k) for k in SHAPE_KNOBS]
    return [math.prod(v[i] for i in m) for m in MONOMIALS]


# -- the template --------------------------------------------------------------------------------------------
@dataclass
class TowerTemplate:
    """The IR text of one tower with multilinear number slots; ``instantiate`` fills them for a configuration."""

    key: str
    part: str
    space: TowerSpace                       # the configurations it may be instantiated for
    pieces: tuple[str, ...]                 # the text between numbers (one more than ``tokens``)
    tokens: tuple[str, ...]                 # every number's text at the base configuration
    slots: np.ndarray                       # indices of the numbers that vary
    coef: np.ndarray                        # (slots, MONOMIALS) numerators over ``den`` (Python ints: no overflow)
    den: np.ndarray                         # (slots,) common denominators
    floor: np.ndarray                       # (slots,) least value a slot may take (0, 1 or 2: as in every fit)
    fused: bool = True                      # fitted on ``ir.fuse``d lowerings
    _doc: dict = field(default_factory=dict, repr=False, compare=False)

    def numbers(self, tc: TowerConfig) -> list[str]:
        """The text of every number of the IR of ``tc``; ConfigError outside the space or the fitted range."""
        _check(self.space, tc, self.part)
        x = np.array(monomials(tc), dtype=object)
        num = self.coef @ x if len(self.slots) else np.zeros(0, dtype=object)
        vals = num // self.den
        if np.any(vals * self.den != num) or np.any(vals < self.floor):
            bad = int(np.flatnonzero((vals * self.den != num) | (vals < self.floor))[0])
            raise ConfigError(f"{self.part} tower {tc}: outside the parametric range (number slot {bad} "
                              f"would be {num[bad]}/{self.den[bad]})")
        out = list(self.tokens)
        for i, v in zip(self.slots.tolist(), vals.tolist()):
            out[i] = str(v)
        return out

    def text(self, tc: TowerConfig) -> str:
        """The IR JSON text of the two-layer tower shaped as ``tc``."""
        nums = self.numbers(tc)
        return "".join(itertools.chain.from_iterable(zip(self.pieces, nums))) + self.pieces[-1]

    def instantiate(self, tc: TowerConfig) -> ir.Graph:
        """The IR of the tower shaped as ``tc``, its layer block repeated ``tc.layers`` times."""
        from .lower import with_depth
        g = ir.from_json(self.text(tc), f"parametric {self.part} template")
        return with_depth(g, tc.layers)

    # -- plain data ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "part": self.part, "space": self.space.model_dump(), "pieces": list(self.pieces),
                "tokens": list(self.tokens), "slots": self.slots.tolist(), "coef": self.coef.tolist(),
                "den": self.den.tolist(), "floor": self.floor.tolist(), "fused": self.fused}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TowerTemplate":
        t = cls(key=d["key"], part=d["part"], space=TowerSpace.model_validate(d["space"]),
                pieces=tuple(d["pieces"]), tokens=tuple(d["tokens"]),
                slots=np.array(d["slots"], dtype=np.int64).reshape(-1),
                coef=_ints(d["coef"]).reshape(-1, len(MONOMIALS)),
                den=_ints(d["den"]).reshape(-1), floor=np.array(d["floor"], dtype=np.int64),
                fused=bool(d["fused"]))
        n = len(t.slots)
        if len(t.pieces) != len(t.tokens) + 1 or len(t.den) != n or len(t.coef) != n or len(t.floor) != n \
                or (n and (t.slots.min() < 0 or t.slots.max() >= len(t.tokens))) or np.any(t.den <= 0):
            raise ValueError("inconsistent template arrays")
        return t


def _ints(rows: Any) -> np.ndarray:
    """Exact integers (Python ints in an object array); ValueError on anything else."""
    a = np.array(rows, dtype=object)
    if not all(type(v) is int for v in a.flat):
        raise ValueError("template coefficients must be integers")
    return a


def _check(space: TowerSpace, tc: TowerConfig, part: str) -> None:
    for k in ("layers", *SHAPE_KNOBS):
        r = getattr(space, k)
        if getattr(tc, k) not in r:
            raise ConfigError(f"{PARTS[part]}.{k} = {getattr(tc, k)} is outside the legal space: allowed values "
                              f"are {r} ({r.values()})")


# -- fitting -------------------------------------------------------------------------------------------------
def _split(text: str) -> tuple[list[str], list[str]]:
    return NUMBER.split(text), NUMBER.findall(text)


def _moved(space: TowerSpace, base: TowerConfig) -> list[tuple[int, ...]]:
    """The monomials the fit can determine: those of the knobs whose lower end differs from the base."""
    can = {i for i, k in enumerate(SHAPE_KNOBS) if getattr(space, k).lo != getattr(base, k)}
    return [m for m in MONOMIALS if set(m) <= can]


def fit_points(space: TowerSpace, base: TowerConfig) -> tuple[list[TowerConfig], TowerConfig]:
    """The corners of the box between the base shape and each movable knob's lower end (the base first; one
    corner per fitted monomial: the knobs of the monomial at their lower end), and a check shape differing in every
    knob that can vary (middle values, or the lower end of two-value knobs)."""
    pts = [base.model_copy(update={SHAPE_KNOBS[i]: getattr(space, SHAPE_KNOBS[i]).lo for i in m})
           for m in _moved(space, base)]
    check = {}
    for k in SHAPE_KNOBS:
        vals = getattr(space, k).values()
        mid = vals[len(vals) // 2]
        check[k] = mid if len(vals) >= 3 else vals[0]
    return pts, base.model_copy(update=check)


def _inverse(m: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse of a small nonsingular matrix (Gauss-Jordan over fractions)."""
    n = len(m)
    a = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(m)]
    for c in range(n):
        r = next(r for r in range(c, n) if a[r][c] != 0)
        a[c], a[r] = a[r], a[c]
        piv = a[c][c]
        a[c] = [x / piv for x in a[c]]
        for r in range(n):
            if r != c and a[r][c] != 0:
                f = a[r][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [row[n:] for row in a]


def fit(lower: Callable[[TowerConfig], str], space: TowerSpace, base: TowerConfig, part: str,
        key: str = "", fused: bool = True) -> TowerTemplate:
    """Fit a template from lowerings (``lower`` returns a two-layer tower's IR JSON text); FitError if it does not
    hold on the check configuration."""
    pts, check = fit_points(space, base)
    texts = [lower(p) for p in pts]
    splits = [_split(t) for t in texts]
    pieces, tokens = splits[0]
    for p, (pc, tk) in zip(pts[1:], splits[1:]):
        if pc != pieces:
            i = next(j for j, (a, b) in enumerate(zip(pc, pieces)) if a != b) if len(pc) == len(pieces) else -1
            raise FitError(f"the IR's structure changes with the knobs ({p} vs {base}"
                           + (f": {pieces[i][:60]!r} vs {pc[i][:60]!r})" if i >= 0 else ": a different op count)"))
    used = _moved(space, base)
    cols = [MONOMIALS.index(m) for m in used]
    inv = _inverse([[Fraction(monomials(p)[j]) for j in cols] for p in pts])
    slots, coef, den, floor = [], [], [], []
    for i, tok in enumerate(tokens):
        vals = [s[1][i] for s in splits]
        if all(v == tok for v in vals):
            continue
        if any(len(v) > 1 and v.startswith("0") for v in vals):
            raise FitError(f"number {i} ({vals}) has leading zeros: part of a decimal fraction that varies")
        y = [int(v) for v in vals]
        c = [sum(r * v for r, v in zip(row, y)) for row in inv]            # coefficients of the used monomials
        d = math.lcm(*(f.denominator for f in c))
        row = [0] * len(MONOMIALS)
        for j, f in zip(cols, c):
            row[j] = int(f * d)
        slots.append(i)
        coef.append(row)
        den.append(d)
        least = min(y)
        floor.append(2 if least >= 2 else least)
    tpl = TowerTemplate(key=key, part=part, space=space, pieces=tuple(pieces), tokens=tuple(tokens),
                        slots=np.array(slots, dtype=np.int64), coef=_ints(coef).reshape(-1, len(MONOMIALS)),
                        den=_ints(den), floor=np.array(floor, dtype=np.int64), fused=fused)
    want = lower(check)
    got = tpl.text(check) if check != base else want
    if got != want:
        a, b = _split(want), _split(got)
        if a[0] != b[0]:
            raise FitError(f"the IR's structure at {check} differs from the fitted template")
        i = next(j for j, (x, y) in enumerate(zip(a[1], b[1])) if x != y)
        raise FitError(f"number {i} of the IR at {check} is {a[1][i]}, the multilinear fit gives {b[1][i]} "
                       f"(context {a[0][i][-40:]!r}): not multilinear in {', '.join(SHAPE_KNOBS)}")
    return tpl


# -- cache keys ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of the code that lowers (``ir/``, ``frontend/``, ``frontend/clip/``) and of torch/TVM/open_clip."""
    from importlib.metadata import PackageNotFoundError, version
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256(f"{FORMAT}/{VERSION}".encode())
    for d in ("ir", "frontend", "frontend/clip"):
        for p in sorted((root / d).glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    for pkg in ("torch", "apache-tvm", "open_clip_torch"):
        try:
            h.update(f"{pkg}={version(pkg)}".encode())
        except PackageNotFoundError:
            h.update(f"{pkg}=?".encode())
    return h.hexdigest()[:16]


def _plain(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str, type(None))) or (
        isinstance(v, tuple) and all(isinstance(x, (bool, int, float, str, type(None))) for x in v))


_DIGESTS: "weakref.WeakKeyDictionary[nn.Module, str]" = weakref.WeakKeyDictionary()


def structure_digest(model: nn.Module) -> str:
    """Digest of what shapes a lowering: every module's class and plain attributes, every parameter's and buffer's
    name, shape and dtype (weights' values do not matter). Memoised per model object: prune copies, never edits."""
    hit = _DIGESTS.get(model)
    if hit is None:
        hit = _DIGESTS[model] = _structure_digest(model)
    return hit


def _structure_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, mod in model.named_modules():
        attrs = sorted((k, repr(v)) for k, v in vars(mod).items()
                       if not k.startswith("_") and k != "training" and _plain(v))
        h.update(f"{name}|{type(mod).__module__}.{type(mod).__qualname__}|{attrs}".encode())
    for name, t in itertools.chain(model.named_parameters(), model.named_buffers()):
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
    return h.hexdigest()[:16]


# -- cache ---------------------------------------------------------------------------------------------------
_TEMPLATES: dict[str, TowerTemplate | str] = {}


def _path(arch: Arch, part: str, batch: int, fuse: bool, key: str, cache_dir: str | Path | None) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", arch.name)
    return cache_root(cache_dir) / "lowering" / f"{stem}-{part}-b{batch}-{'fused' if fuse else 'unfused'}-{key}.json"


def _read(path: Path, key: str) -> TowerTemplate | str | None:
    """The cached template (or the reason the family did not fit); None when absent; rebuilt when corrupt."""
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        body = doc["body"]
        if doc.get("format") != FORMAT or doc.get("version") != VERSION or doc.get("key") != key \
                or doc.get("sha256") != hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest():
            raise ValueError("format, key or checksum mismatch")
        if doc.get("status") == "unfit":
            return str(body["reason"])
        t = TowerTemplate.from_dict(body)
        if t.key != key:
            raise ValueError("template key mismatch")
        return t
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("parametric lowering cache %s is corrupt or stale (%s); rebuilding it", path, e)
        return None


def _write(path: Path, key: str, value: TowerTemplate | str) -> None:
    body = {"reason": value} if isinstance(value, str) else value.to_dict()
    doc = {"format": FORMAT, "version": VERSION, "key": key, "status": "unfit" if isinstance(value, str) else "ok",
           "body": body, "sha256": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")      # parallel workers never share a temp file
        tmp.write_text(json.dumps(doc))
        tmp.replace(path)
    except OSError as e:                                     # a read-only cache costs speed, never correctness
        log.warning("cannot write the parametric lowering cache %s (%s)", path, e)


def template(model: nn.Module, part: str, batch: int = 1, name: str = "", cache_dir: str | Path | None = None,
             fit_model: Callable[[], nn.Module] | None = None, fuse: bool = True) -> TowerTemplate | None:
    """The tower's template (from memory, the disk cache, or fitted now); None when the family does not fit,
    in which case the reason is logged once and the caller lowers each configuration afresh.

    ``model`` may hold no weights (built on the meta device): only its structure is read, unless the template must
    be fitted, which lowers ``fit_model()`` (default: ``model``). ``fuse``: the template of fused graphs (as
    ``lower_fresh`` gives by default) or of unfused ones; each has its own cache entry."""
    from .lower import lower_fresh

    if part not in PARTS:
        raise ConfigError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    arch = Arch.of(model, name)
    key = digest([FORMAT, VERSION, code_version(), structure_digest(model), arch.name, part, batch, bool(fuse)])
    hit = _TEMPLATES.get(key)
    if hit is None:
        path = _path(arch, part, batch, fuse, key, cache_dir)
        hit = _read(path, key)
        if hit is None:
            base = arch.config()
            tower_space = getattr(arch.space(), PARTS[part])

            real = fit_model() if fit_model is not None else model

            def lower(tc: TowerConfig) -> str:
                cfg = base.model_copy(update={PARTS[part]: tc})
                return ir.to_json(lower_fresh(real, cfg, part, batch, name, depth=2, fuse=fuse), indent=None)
            try:
                hit = fit(lower, tower_space, getattr(base, PARTS[part]), part, key, fused=bool(fuse))
            except FitError as e:
                hit = str(e)
            _write(path, key, hit)
        if isinstance(hit, str):
            log.warning("parametric lowering: %s %s tower does not fit a multilinear template (%s); every "
                        "configuration is lowered afresh", arch.name, part, hit)
        _TEMPLATES[key] = hit
    return hit if isinstance(hit, TowerTemplate) else None
