"""The ConfigSpace of a study: one hyperparameter per knob, known constraints as forbidden clauses.

Constraints on metrics that follow from the knobs in closed form (PEs, peak TOPS) become forbidden clauses over
the knobs they depend on, so neither SMAC nor random search ever proposes a violating point; constraints that
need the hardware model (area) are checked by ``feasible`` before a trial runs. Either way they are never learned.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Mapping

from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from .errors import StudyError
from .study import Knob, StudySpec

MAX_ORDINAL = 512            # finite knobs with more values become integer ranges
MAX_ENUMERATED = 20_000      # combinations enumerated to turn a known constraint into forbidden clauses

# Closed-form known metrics: the knobs they depend on and how they follow from them.
CLOSED_FORM: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any]], float]]] = {
    "pes": (("cores", "pe_rows", "pe_cols"), lambda v: v["cores"] * v["pe_rows"] * v["pe_cols"]),
    "peak_tops": (("cores", "pe_rows", "pe_cols", "clock_hz"),
                  lambda v: 2.0 * v["cores"] * v["pe_rows"] * v["pe_cols"] * v["clock_hz"] / 1e12),
}


def _native(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def hyperparameter(k: Knob):
    ch = k.choices()
    if ch is not None and len(ch) <= MAX_ORDINAL:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ch):
            return OrdinalHyperparameter(k.name, sorted(ch))
        return CategoricalHyperparameter(k.name, list(ch))
    r = k.range
    if k.is_int_range:
        return UniformIntegerHyperparameter(k.name, int(r.lo), int(r.hi), log=r.log)
    return UniformFloatHyperparameter(k.name, r.lo, r.hi, log=r.log)


class Space:
    """A study's search space: ConfigSpace plus the values every trial needs (fixed knobs, template defaults)."""

    def __init__(self, study: StudySpec, base: Mapping[str, Any] | None = None):
        self.study = study
        self.knobs = {k.name: k for k in study.knobs()}
        # values of knobs that are not searched: the study's fixed values over the template's (``base``)
        self.base = dict(base or {})
        for sec in ("model", "hardware", "schedule"):
            self.base.update(study.fixed(sec))
        self.cs = ConfigurationSpace(seed=study.optimizer.seed)
        self.cs.add([hyperparameter(k) for k in self.knobs.values()])
        self.pretrial: list = []      # constraints checked by ``feasible`` (not expressible as clauses)
        clauses = [self._combo_clause(c, f"forbidden[{i}]") for i, c in enumerate(study.forbidden)]
        for i, c in enumerate(study.constraints):
            if c.metric in CLOSED_FORM:
                clauses += self._closed_form(c, f"constraints[{i}] ({c.metric})")
        clauses = [c for c in clauses if c is not None]
        if clauses:
            self.cs.add(clauses)
        if self.size() == 0:
            raise StudyError("forbidden/constraints: they exclude every configuration of the space")

    # -- forbidden clauses ---------------------------------------------------------------------------------
    def _combo_clause(self, combo: Mapping[str, Any], where: str):
        parts = []
        for n, v in combo.items():
            if n not in self.knobs:             # a fixed knob: the combination holds iff its value matches
                if self.base.get(n) != v:
                    return None
                continue
            ch = self.knobs[n].choices()
            if ch is not None and v not in ch:
                raise StudyError(f"{where}: value {v!r} of {n!r} is not one of its values {list(ch)}")
            parts.append(ForbiddenEqualsClause(self.cs[n], v))
        if not parts:
            raise StudyError(f"{where}: forbids the fixed values themselves, so every configuration")
        return parts[0] if len(parts) == 1 else ForbiddenAndConjunction(*parts)

    def _closed_form(self, c, where: str) -> list:
        deps, fn = CLOSED_FORM[c.metric]
        missing = [d for d in deps if d not in self.knobs and d not in self.base]
        if missing:
            raise StudyError(f"{where}: needs knob values {missing}, which neither the study nor the template give")
        searched = [d for d in deps if d in self.knobs]
        choices = [self.knobs[d].choices() for d in searched]
        n = 1
        for ch in choices:
            n = n * len(ch) if ch is not None else MAX_ENUMERATED + 1
        if n > MAX_ENUMERATED:
            self.pretrial.append(c)
            return []
        bad, ok = [], 0
        for combo in itertools.product(*choices):
            vals = {**self.base, **dict(zip(searched, combo))}
            if c.violation(fn(vals)) > 0:
                bad.append(combo)
            else:
                ok += 1
        if ok == 0:
            raise StudyError(f"{where}: no combination of {searched or deps} meets it "
                             f"(max {c.max}, min {c.min}); the constraint is impossible")
        if not searched:
            return []
        return [self._combo_clause(dict(zip(searched, combo)), where) for combo in bad]

    # -- configurations ------------------------------------------------------------------------------------
    def size(self) -> float:
        """Number of legal configurations (inf when a knob is continuous); exact when enumerable."""
        chs = [k.choices() for k in self.knobs.values()]
        if any(ch is None for ch in chs):
            return float("inf")
        total = 1
        for ch in chs:
            total *= len(ch)
        if total > 200_000 or not self.cs.forbidden_clauses:
            return float(total)
        names = list(self.knobs)
        return float(sum(1 for combo in itertools.product(*chs) if self.legal(dict(zip(names, combo)))))

    def legal(self, values: Mapping[str, Any]) -> bool:
        """True when no forbidden clause matches the searched values."""
        vec = self._vector(values)
        return not any(f.is_forbidden_vector(vec) for f in self.cs.forbidden_clauses)

    def _vector(self, values: Mapping[str, Any]):
        import numpy as np
        return np.array([self.cs[n].to_vector(values[n]) for n in self.cs], dtype=float)

    def values(self, config: Configuration | Mapping[str, Any]) -> dict[str, Any]:
        """The searched knob values of a configuration as plain Python values."""
        out = {}
        for n, k in self.knobs.items():
            v = _native(config[n])
            ch = k.choices()
            if ch is not None:                  # return the study's own value (int stays int, bool stays bool)
                v = next((c for c in ch if c == v), v)
            out[n] = v
        return out

    def full(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Searched values plus the fixed ones: what the evaluator is given."""
        return {**self.base, **values}

    def configuration(self, values: Mapping[str, Any]) -> Configuration:
        return Configuration(self.cs, values={n: values[n] for n in self.knobs})

    @staticmethod
    def key(values: Mapping[str, Any]) -> str:
        """Canonical text of a configuration: equal configurations, equal keys."""
        return json.dumps({k: _native(v) for k, v in values.items()}, sort_keys=True)
