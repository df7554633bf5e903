"""Checks of a study before its first trial: optimiser settings, and every knob value built for real.

A hardware knob value is checked by building ``template.with_knobs(name=value)`` and a model knob value by
validating the pruned configuration against the base model's space (``frontend.clip``), so the allowed ranges
live only where they are defined; a value they refuse is a ``StudyError`` naming the knob, before anything runs.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

from ir.errors import CatxError

from .errors import StudyError
from .study import Knob, StudySpec

MAX_SEED = 2**32 - 1         # ConfigSpace and numpy take seeds in 0..2**32-1
MAX_TRIALS = 10_000_000
MAX_WORKERS = 4096
MAX_CHECKED = 4096           # a knob with more values has its two ends checked (ranges are intervals)


def check_optimizer(spec: StudySpec) -> None:
    """Trials, seed and workers in range (``with_options`` copies them in without the schema's checks)."""
    o = spec.optimizer
    for name, value, lo, hi in (("trials", o.trials, 1, MAX_TRIALS), ("seed", o.seed, 0, MAX_SEED),
                                ("workers", o.workers, 1, MAX_WORKERS)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise StudyError(f"optimizer.{name} (--{name}): must be an integer in {lo}..{hi:,}, got {value!r}")


def _values(k: Knob) -> Iterator[Any]:
    """The values of a searched knob worth building: all of a short list, or a range's ends (and its values
    when there are few)."""
    if k.values is not None:
        yield from k.values
        return
    r = k.range
    if not (math.isfinite(r.lo) and math.isfinite(r.hi)):
        raise StudyError(f"knobs.{k.name}: a range needs finite ends, got lo {r.lo} hi {r.hi}")
    ends = (int(r.lo), int(r.hi)) if k.is_int_range else (r.lo, r.hi)
    count = math.floor((r.hi - r.lo) / r.step) + 1 if r.step else (r.hi - r.lo + 1 if k.is_int_range else 0)
    if 0 < count <= MAX_CHECKED:
        yield from k.choices() or ends
    else:
        yield from ends


def knob_values(spec: StudySpec, section: str) -> Iterator[tuple[str, Any]]:
    """(knob name, value) for every value a section's knobs may take: searched values and fixed ones."""
    searched = {k.name: k for k in spec.knobs()}
    for name in spec.searched(section):
        for v in _values(searched[name]):
            yield name, v
    yield from spec.fixed(section).items()


def _scalar_ok(value: Any, like: Any) -> str | None:
    """Why ``value`` cannot stand where the template has ``like`` (None when it can)."""
    if value is None:
        return "null is not a value"
    if isinstance(like, bool) or isinstance(like, str):
        return None if type(value) is type(like) else f"must be a {type(like).__name__}"
    if isinstance(like, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
    return None


def check_hardware(spec: StudySpec, template: Any, base: dict[str, Any]) -> None:
    """Build the template with every hardware knob value; the template's own error names what is allowed."""
    for name, value in knob_values(spec, "hardware"):
        where = f"hardware.knobs.{name}"
        why = _scalar_ok(value, base.get(name))
        if why:
            raise StudyError(f"{where}: value {value!r} {why}")
        try:
            template.with_knobs(**{name: value})
        except CatxError as e:
            raise StudyError(f"{where}: value {value!r} is not allowed on template {template.name!r}: {e}") from None


def check_model(spec: StudySpec, full: dict[str, int], validate: Callable[[dict[str, int]], Any]) -> None:
    """Each model knob value in the base model's pruning space: ``validate`` builds and checks the configuration
    (``frontend.clip``: ``CLIPConfig`` then the space's ``validate_config``) and raises ``CatxError`` if not."""
    for name, value in knob_values(spec, "model"):
        where = f"model.knobs.{name}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise StudyError(f"{where}: value {value!r} must be an integer (a count or a width)")
        try:
            validate({**full, name: value})
        except CatxError as e:
            raise StudyError(f"{where}: value {value!r}: {e}") from None


def check(spec: StudySpec) -> StudySpec:
    """Every check that needs no model: optimiser settings and hardware knob values against the template."""
    import backend

    from .evaluate import template_values

    check_optimizer(spec)
    try:
        template = backend.presets.resolve(spec.hardware.template)
    except CatxError as e:
        raise StudyError(f"hardware.template: {e}") from None
    check_hardware(spec, template, template_values(template))
    return spec
