"""Pruning configurations (per tower: layers, heads, FFN width, embedding width) and their legal search space."""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

TOWERS = ("text", "vision")
KNOBS = ("layers", "heads", "ffn", "width")


class TowerConfig(BaseModel):
    """One tower's shape: transformer layers, attention heads (head_dim fixed), FFN hidden width, residual width."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    layers: int
    heads: int
    ffn: int
    width: int


class CLIPConfig(BaseModel):
    """A pruned CLIP: one TowerConfig per tower."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text: TowerConfig
    vision: TowerConfig

    @classmethod
    def from_knobs(cls, knobs: Mapping[str, Any]) -> "CLIPConfig":
        """Build from a flat knob dict such as ``{"text_layers": 6, "vision_ffn": 1536, ...}`` (all 8 keys)."""
        allowed = {f"{t}_{k}" for t in TOWERS for k in KNOBS}
        unknown = sorted(set(knobs) - allowed)
        missing = sorted(allowed - set(knobs))
        if unknown or missing:
            raise ConfigError(f"knob dict: unknown keys {unknown}, missing keys {missing}; "
                              f"allowed keys are {sorted(allowed)}")
        try:
            return cls(**{t: {k: int(knobs[f"{t}_{k}"]) for k in KNOBS} for t in TOWERS})
        except (TypeError, ValueError, ValidationError) as e:
            raise ConfigError(f"knob dict: {e}") from None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "CLIPConfig":
        """Build from ``{"text": {...}, "vision": {...}}`` or a flat knob dict, with a ConfigError on bad input."""
        if "text" in data or "vision" in data:
            try:
                return cls.model_validate(dict(data))
            except ValidationError as e:
                errs = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
                raise ConfigError(f"configuration: {errs}") from None
        return cls.from_knobs(data)

    def knobs(self) -> dict[str, int]:
        """The flat knob dict (inverse of ``from_knobs``)."""
        return {f"{t}_{k}": getattr(getattr(self, t), k) for t in TOWERS for k in KNOBS}

    def key(self) -> str:
        """A short stable text form, used in cache keys and file names."""
        return "_".join(f"{t[0]}{c.layers}-{c.heads}-{c.ffn}-{c.width}"
                        for t, c in (("text", self.text), ("vision", self.vision)))


class Range(BaseModel):
    """Legal values ``lo, lo+step, ..., hi`` of one knob."""

    model_config = ConfigDict(frozen=True)
    lo: int
    hi: int
    step: int = 1

    def values(self) -> list[int]:
        return list(range(self.lo, self.hi + 1, self.step))

    def __contains__(self, v: int) -> bool:
        return self.lo <= v <= self.hi and (v - self.lo) % self.step == 0

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi} step {self.step}"


class TowerSpace(BaseModel):
    model_config = ConfigDict(frozen=True)
    layers: Range
    heads: Range
    ffn: Range
    width: Range


class SearchSpace(BaseModel):
    """The legal configurations of one base model, per tower and knob."""

    model_config = ConfigDict(frozen=True)
    text: TowerSpace
    vision: TowerSpace

    def validate_config(self, config: CLIPConfig) -> CLIPConfig:
        """Return ``config`` unchanged, or raise ConfigError naming the first field outside the space."""
        for t in TOWERS:
            for k in KNOBS:
                v, r = getattr(getattr(config, t), k), getattr(getattr(self, t), k)
                if v not in r:
                    raise ConfigError(f"configuration field {t}.{k} = {v} is outside the legal space: "
                                      f"allowed values are {r} ({r.values()})")
        return config

    def full(self) -> CLIPConfig:
        """The largest configuration (the base model itself)."""
        return CLIPConfig(**{t: {k: getattr(getattr(self, t), k).hi for k in KNOBS} for t in TOWERS})

    def smallest(self) -> CLIPConfig:
        return CLIPConfig(**{t: {k: getattr(getattr(self, t), k).lo for k in KNOBS} for t in TOWERS})

    def knob_values(self) -> dict[str, list[int]]:
        """Flat knob name -> legal values, for the search to build its space from."""
        return {f"{t}_{k}": getattr(getattr(self, t), k).values() for t in TOWERS for k in KNOBS}


def half_range(base: int, step_div: int) -> Range:
    """From half the base value to the base value; step base/step_div (1 when step_div is 0)."""
    step = base // step_div if step_div else 1
    lo = base - step * (step_div // 2) if step_div else (base + 1) // 2
    return Range(lo=lo, hi=base, step=step)


def default_space(text: TowerConfig, vision: TowerConfig) -> SearchSpace:
    """CATransformers' rule: every knob from 50% to 100% of the base; layers and heads step 1, FFN and width
    step 1/8 of the base. For ViT-B/16 this gives the paper's table (text FFN 1024..2048 step 256, ...)."""
    def tower(c: TowerConfig) -> TowerSpace:
        return TowerSpace(layers=half_range(c.layers, 0), heads=half_range(c.heads, 0),
                          ffn=half_range(c.ffn, 8), width=half_range(c.width, 8))
    return SearchSpace(text=tower(text), vision=tower(vision))
