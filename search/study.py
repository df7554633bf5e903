"""The study definition: knobs with ranges (model, hardware, schedule), objectives, constraints and the optimiser.

A study is YAML validated by pydantic. Every problem is reported as a ``StudyError`` naming the field, before any
trial runs: unknown knob, empty range, unknown metric, a constraint no configuration can meet.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backend.knobs import NAMES as KNOB_NAMES
from ir.files import load_yaml

from . import metrics as M
from .errors import StudyError

PRESET_DIR = Path(__file__).parent / "presets"

# Hardware knobs a study may search or fix: the backend's one table (backend/knobs.py); dotted paths into the
# description (memory.<level>.<field>) reach any level too.
HARDWARE_KNOBS = KNOB_NAMES
# Pruning knobs of frontend.clip.CLIPConfig (per tower: layers, heads, FFN width, embedding width).
MODEL_KNOBS = tuple(f"{t}_{k}" for t in ("text", "vision") for k in ("layers", "heads", "ffn", "width"))
# Schedule knobs: the dataflow the tensor unit may use (``best`` lets the mapper choose), the mapper's target.
SCHEDULE_KNOBS = {"dataflow": ("best", "os", "ws", "is"), "mapper": ("edp", "latency", "energy"),
                  "fusion": (False, True), "attention": ("best", "fused", "unfused")}

Scalar = Union[bool, int, float, str]
MAX_CHOICES = 100_000        # a finite knob with more values is searched as a range, never listed


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Range(Strict):
    """Numbers from ``lo`` to ``hi``: integers in ``step`` (default 1), or floats (``log`` for a log scale)."""

    lo: float
    hi: float
    step: float | None = None
    log: bool = False


class Knob(Strict):
    """One searched knob: an explicit list of values, or a range."""

    name: str
    values: tuple[Scalar, ...] | None = None
    range: Range | None = None

    @property
    def is_int_range(self) -> bool:
        r = self.range
        return r is not None and float(r.lo).is_integer() and float(r.hi).is_integer() and \
            (r.step is None or float(r.step).is_integer()) and not r.log

    def choices(self) -> tuple[Scalar, ...] | None:
        """All values when the knob is finite (a list, or an integer range), else None."""
        if self.values is not None:
            return self.values
        r = self.range
        if r is not None and (r.hi - r.lo) / (r.step or 1) >= MAX_CHOICES:
            return None                           # too many to list: searched as a range
        if r is not None and r.step is not None:
            n = int(math.floor((r.hi - r.lo) / r.step + 1e-9)) + 1
            vals = [r.lo + i * r.step for i in range(n)]
            return tuple(int(v) if self.is_int_range else float(v) for v in vals)
        if self.is_int_range:
            return tuple(range(int(r.lo), int(r.hi) + 1))
        return None


class Section(Strict):
    knobs: dict[str, Any] = Field(default_factory=dict)   # name -> list | {lo, hi, step, log} | fixed scalar


class ModelSection(Section):
    spec: str = "openclip:ViT-B-16"     # frontend.load spec
    tower: Literal["image", "text", "both"] = "both"
    batch: int = Field(1, ge=1)


class HardwareSection(Section):
    template: str = "catransformers-edge"


class Constraint(Strict):
    metric: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "Constraint":
        if self.max is None and self.min is None:
            raise ValueError(f"constraint on {self.metric!r} gives neither max nor min")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"constraint on {self.metric!r}: min {self.min} > max {self.max}; nothing can meet it")
        return self

    def violation(self, value: float) -> float:
        """0 when met, else the relative amount by which it is missed."""
        v = 0.0
        if self.max is not None and value > self.max:
            v = (value - self.max) / max(abs(self.max), 1e-30)
        if self.min is not None and value < self.min:
            v = max(v, (self.min - value) / max(abs(self.min), 1e-30))
        return v


class Optimizer(Strict):
    """Who proposes configurations and how a joint study is split (``search.engine.plan`` resolves ``auto``)."""

    # auto: exhaustive for a study without model knobs whose hardware space can be enumerated, else smac
    kind: Literal["auto", "smac", "random", "exhaustive"] = "auto"
    # joint studies (model and hardware knobs): nested = an outer optimiser over the model knobs and, per model,
    # the exact hardware front (the default); flat = one optimiser over every knob (the paper's single BO)
    mode: Literal["auto", "nested", "flat"] = "auto"
    # nested: each model's hardware front enumerated (auto: up to search.designs.MAX_ENUMERATED points) or sampled
    inner: Literal["auto", "exhaustive", "sampled"] = "auto"
    inner_samples: int = Field(20_000, ge=1)
    wall_s: float | None = Field(None, gt=0)          # stop proposing after this many seconds (a time budget)
    trials: int = Field(100, ge=1)
    seed: int = Field(0, ge=0, le=2**32 - 1)         # ConfigSpace and numpy seeds
    workers: int = Field(1, ge=1)
    initial_design: int | None = Field(None, ge=1)    # Sobol points before the model is used (SMAC's default)
    retrain_after: int = Field(8, ge=1)               # proposals between surrogate refits
    random_probability: float = Field(0.2, ge=0, le=1)


class Fidelity(Strict):
    """Accuracy evaluations: a cheap one for every trial; an expensive one for the best ``promote`` points."""

    low: str = "proxy"
    low_budget: int | None = None
    high: str | None = None
    high_budget: int | None = None
    promote: int = Field(0, ge=0)


class StudySpec(Strict):
    name: str
    description: str = ""
    model: ModelSection = ModelSection()
    hardware: HardwareSection = HardwareSection()
    schedule: Section = Section()
    scenario: str = "paper-california"
    objectives: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()
    forbidden: tuple[dict[str, Scalar], ...] = ()    # illegal combinations of knob values
    optimizer: Optimizer = Optimizer()
    fidelity: Fidelity = Fidelity()

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one objective is needed")
        if len(set(v)) != len(v):
            raise ValueError(f"objectives repeat a metric: {list(v)}")
        for o in v:
            if o not in M.METRICS:
                raise ValueError(f"unknown metric {o!r} (allowed: {', '.join(M.METRICS)})")
        return v

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, v: tuple[Constraint, ...]) -> tuple[Constraint, ...]:
        for c in v:
            if c.metric not in M.METRICS:
                raise ValueError(f"unknown metric {c.metric!r} (allowed: {', '.join(M.METRICS)})")
        return v

    # -- derived -------------------------------------------------------------------------------------------
    def knobs(self) -> list[Knob]:
        """Every searched knob, in a fixed order: model, hardware, schedule."""
        return [k for _, ks in self._sections() for k in ks.values()]

    def fixed(self, section: str) -> dict[str, Scalar]:
        """Knobs of a section given a single value (not searched)."""
        sec = getattr(self, section)
        return {n: v for n, v in sec.knobs.items() if not isinstance(v, (list, tuple, dict))}

    def searched(self, section: str) -> list[str]:
        return list(dict(self._sections())[section])

    @property
    def searches_model(self) -> bool:
        return bool(self.searched("model")) or bool(self.fixed("model"))

    @property
    def needs_accuracy(self) -> bool:
        return "accuracy" in self.objectives or any(c.metric == "accuracy" for c in self.constraints)

    def _sections(self) -> list[tuple[str, dict[str, Knob]]]:
        out = []
        for sec in ("model", "hardware", "schedule"):
            ks = {}
            for n, v in getattr(self, sec).knobs.items():
                if isinstance(v, (list, tuple)):
                    ks[n] = Knob(name=n, values=tuple(v))
                elif isinstance(v, dict):
                    ks[n] = Knob(name=n, range=Range(**v))
            out.append((sec, ks))
        return out

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    def digest(self) -> str:
        """Hash of everything that changes a trial's result (not the trial count or worker count)."""
        d = self.model_dump(mode="json")
        d["optimizer"] = {k: v for k, v in d["optimizer"].items() if k not in ("trials", "workers", "wall_s")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def with_options(self, **opts: Any) -> "StudySpec":
        """A copy with optimizer fields replaced (``trials``, ``seed``, ``workers``, ``kind``, ``mode``, ...); None is
        ignored. ``exhaustive=True`` asks for enumeration: of the whole space in a study without model knobs, of
        each model's hardware space in a joint study."""
        opt = {k: v for k, v in opts.items() if v is not None}
        if opt.pop("exhaustive", False):
            opt["inner" if self.searched("model") else "kind"] = "exhaustive"
        return self.model_copy(update={"optimizer": self.optimizer.model_copy(update=opt)}) if opt else self


def _fail(where: str, msg: str) -> StudyError:
    return StudyError(f"{where}: {msg}")


def _scalar(where: str, value: Any) -> None:
    """A knob value is a bool, a finite number or a string (null, NaN, inf, lists and mappings are not)."""
    if value is None or isinstance(value, (list, tuple, dict)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise _fail(where, f"value {value!r:.60} is not allowed; a knob value is a finite number, a string or a bool")


def _same(value: Any) -> Any:
    """A key under which equal knob values (64, 64.0, True and 1) coincide."""
    return ("number", float(value)) if isinstance(value, (int, float)) else (type(value).__name__, repr(value))


def _check_knob(section: str, name: str, raw: Any, allowed: tuple[str, ...] | dict) -> None:
    where = f"{section}.knobs.{name}"
    dotted = section == "hardware" and name.startswith(("memory.", "tensor_unit.", "vector_unit.", "dram.", "bits."))
    if name not in allowed and not dotted:
        more = " or a dotted path such as memory.<level>.<field>" if section == "hardware" else ""
        raise _fail(where, f"unknown {section} knob (allowed: {', '.join(allowed)}{more})")
    if not isinstance(raw, (list, tuple, dict)):
        _scalar(where, raw)
    if isinstance(raw, (list, tuple)):
        if len(raw) == 0:
            raise _fail(where, "empty list of values; give at least one")
        for v in raw:
            _scalar(where, v)
        if len(set(map(_same, raw))) != len(raw):        # 64 and 64.0 are one value (ConfigSpace agrees)
            raise _fail(where, f"values repeat: {list(raw)}")
        if isinstance(allowed, dict):
            bad = [v for v in raw if v not in allowed[name]]
            if bad:
                raise _fail(where, f"values {bad} not allowed (allowed: {list(allowed[name])})")
    elif isinstance(raw, dict):
        unknown = set(raw) - {"lo", "hi", "step", "log"}
        if unknown or "lo" not in raw or "hi" not in raw:
            raise _fail(where, f"a range is {{lo, hi[, step][, log]}}, got keys {sorted(map(str, raw))}")
        try:
            r = Range(**raw)
        except ValidationError as e:
            raise _fail(where, e.errors()[0]["msg"]) from None
        if r.hi < r.lo:
            raise _fail(where, f"empty range: lo {r.lo:g} > hi {r.hi:g}")
        if r.step is not None and r.step <= 0:
            raise _fail(where, f"step must be > 0, got {r.step:g}")
        if r.log and r.lo <= 0:
            raise _fail(where, f"a log range needs lo > 0, got {r.lo:g}")
        if isinstance(allowed, dict):
            raise _fail(where, f"takes a list of values from {list(allowed[name])}, not a range")
    elif isinstance(allowed, dict) and raw not in allowed[name]:
        raise _fail(where, f"value {raw!r} not allowed (allowed: {list(allowed[name])})")


def validate(study: StudySpec) -> StudySpec:
    """Semantic checks beyond the schema; raise StudyError naming the field."""
    for sec, allowed in (("model", MODEL_KNOBS), ("hardware", HARDWARE_KNOBS), ("schedule", SCHEDULE_KNOBS)):
        for n, raw in getattr(study, sec).knobs.items():
            _check_knob(sec, n, raw, allowed)
    if not study.knobs():
        raise _fail("knobs", "nothing to search: give at least one knob a list or a range")
    names = {k.name for k in study.knobs()} | {n for s in ("model", "hardware", "schedule") for n in study.fixed(s)}
    for i, combo in enumerate(study.forbidden):
        unknown = sorted(set(combo) - names)
        if unknown or not combo:
            raise _fail(f"forbidden[{i}]", f"names unknown knobs {unknown} (study knobs: {sorted(names)})")
    if study.fidelity.promote and not study.fidelity.high:
        raise _fail("fidelity.promote", "promotes points but names no high-fidelity evaluator (fidelity.high)")
    for i, c in enumerate(study.constraints):
        where = f"constraints[{i}] ({c.metric})"
        if c.metric == "accuracy" and c.min is not None and c.min > 1:
            raise _fail(where, f"accuracy is a fraction in [0, 1]; min {c.min:g} cannot be met")
        nonneg = c.metric != "accuracy"
        if nonneg and c.max is not None and c.max <= 0:
            raise _fail(where, f"{c.metric} is positive for every design; max {c.max:g} cannot be met")
    return study


def _merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``; mappings merge key by key (knob dicts included), everything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _extends(doc: dict, source: str, depth: int = 0) -> dict:
    parent = doc.get("extends")
    if parent is None:
        return doc
    if depth > 8 or not isinstance(parent, str) or parent not in presets():
        raise StudyError(f"{source}: field 'extends': {parent!r} is not a preset (presets: {', '.join(presets())})")
    base = load_yaml(PRESET_DIR / f"{parent}.yaml", "study preset", StudyError)
    base = _extends(base, str(PRESET_DIR / f"{parent}.yaml"), depth + 1)
    base.pop("description", None)
    return _merge(base, {k: v for k, v in doc.items() if k != "extends"})


def from_dict(doc: Any, source: str = "<dict>") -> StudySpec:
    if not isinstance(doc, dict):
        raise StudyError(f"{source}: a study must be a mapping, got {type(doc).__name__}")
    doc = _extends(doc, source)
    try:
        st = StudySpec.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "<top>"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        raise StudyError(f"{source}: field {loc!r}: {msg}") from None
    try:
        return validate(st)
    except StudyError as e:
        raise StudyError(f"{source}: {e}") from None


def presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load(spec: str | Path | dict | StudySpec) -> StudySpec:
    """A StudySpec from a StudySpec, a dict, a YAML path or a preset name."""
    if isinstance(spec, StudySpec):
        return validate(spec)
    if isinstance(spec, dict):
        return from_dict(spec)
    p = Path(spec)
    if not p.is_file():
        if str(spec) in presets():
            p = PRESET_DIR / f"{spec}.yaml"
        else:
            raise StudyError(f"{spec!r} is neither a study file nor a preset (presets: {', '.join(presets())})")
    return from_dict(load_yaml(p, "study file", StudyError, expect=None), str(p))
