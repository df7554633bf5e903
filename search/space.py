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


def hyperparameter(k: Knob, default: Any = None):
    ch = k.choices()
    if ch is not None and len(ch) <= MAX_ORDINAL:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ch):
            kw = {} if default is None else {"default_value": default}
            return OrdinalHyperparameter(k.name, sorted(ch), **kw)
        return CategoricalHyperparameter(k.name, list(ch), **({} if default is None else {"default_value": default}))
    r = k.range
    if k.is_int_range:
        return UniformIntegerHyperparameter(k.name, int(r.lo), int(r.hi), log=r.log)
    return UniformFloatHyperparameter(k.name, r.lo, r.hi, log=r.log)


def _matches(clause, values: Mapping[str, Any]) -> bool:
    """Whether a forbidden clause (equals, or a conjunction of them) matches plain knob values."""
    if isinstance(clause, ForbiddenAndConjunction):
        return all(_matches(c, values) for c in clause.components)
    return values.get(clause.hyperparameter.name) == clause.value


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
            self._add_clauses(clauses)

    def _add_clauses(self, clauses: list) -> None:
        """Add forbidden clauses; ConfigSpace demands a legal default, so move the default to a legal point."""
        vecs = None
        names = list(self.knobs)
        chs = [self.knobs[n].choices() for n in names]
        default = None
        if all(ch is not None for ch in chs):
            for combo in itertools.product(*chs):
                vals = dict(zip(names, combo))
                if not any(_matches(f, vals) for f in clauses):
                    default = vals
                    break
            if default is None:
                raise StudyError("forbidden/constraints: they exclude every configuration of the space")
            vecs = default
        if vecs is not None:
            cs = ConfigurationSpace(seed=self.study.optimizer.seed)
            cs.add([hyperparameter(self.knobs[n], vecs[n]) if self.knobs[n].choices() is not None
                    else self.cs[n] for n in names])
            clauses = [self._rebind(c, cs) for c in clauses]
            self.cs = cs
        self.cs.add(clauses)

    @staticmethod
    def _rebind(clause, cs: ConfigurationSpace):
        """The same clause over the hyperparameters of ``cs``."""
        if isinstance(clause, ForbiddenAndConjunction):
            return ForbiddenAndConjunction(*(Space._rebind(c, cs) for c in clause.components))
        return ForbiddenEqualsClause(cs[clause.hyperparameter.name], clause.value)

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
        return not any(_matches(f, values) for f in self.cs.forbidden_clauses)

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
