"""Importance rankings of a base model's layers, heads, FFN neurons and residual dimensions, as plain data."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ir.files import load_json

from .config import TowerConfig
from .errors import PruneError


class TowerRanking(BaseModel):
    """Orders, most important first. ``layers`` orders layer indices so that keeping the first n is the rule's
    choice for every n; ``heads``/``ffn`` hold one order per base layer; ``width`` orders residual dims."""

    model_config = ConfigDict(frozen=True)
    layers: list[int]
    heads: list[list[int]]
    ffn: list[list[int]]
    width: list[int]

    @classmethod
    def identity(cls, base: TowerConfig, layer_rule: str = "last") -> "TowerRanking":
        """Keep-first orders (the paper's embedding rule); layers dropped from the end or ``middle``."""
        layers = middle_order(base.layers) if layer_rule == "middle" else list(range(base.layers))
        return cls(layers=layers, heads=[list(range(base.heads))] * base.layers,
                   ffn=[list(range(base.ffn))] * base.layers, width=list(range(base.width)))

    def check(self, base: TowerConfig, which: str) -> None:
        """PruneError unless every order is a permutation of the base model's indices."""
        def perm(xs: list[int], n: int, what: str) -> None:
            if sorted(xs) != list(range(n)):
                raise PruneError(f"{which} ranking: {what} is not a permutation of 0..{n - 1} "
                                 "(ranking made for another base model?)")
        perm(self.layers, base.layers, "layers")
        perm(self.width, base.width, "width")
        if len(self.heads) != base.layers or len(self.ffn) != base.layers:
            raise PruneError(f"{which} ranking: has {len(self.heads)} layers of head orders, base has {base.layers}")
        for i in range(base.layers):
            perm(self.heads[i], base.heads, f"heads of layer {i}")
            perm(self.ffn[i], base.ffn, f"ffn of layer {i}")

    def keep_layers(self, n: int) -> list[int]:
        return sorted(self.layers[:n])


class Ranking(BaseModel):
    """Rankings for both towers plus where they came from (base model, method, calibration data)."""

    model_config = ConfigDict(frozen=True)
    text: TowerRanking
    vision: TowerRanking
    source: dict[str, str] = {}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")       # parallel workers never share a temp file
        tmp.write_text(json.dumps(self.model_dump()))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Ranking":
        try:
            return cls.model_validate(load_json(path, "ranking cache file", PruneError))
        except ValidationError as e:
            raise PruneError(f"{path}: not a ranking ({e.errors()[0]['msg']}); delete it to compute it again") \
                from None


def middle_order(n: int) -> list[int]:
    """Layer order whose first k entries keep the outermost layers: dropping d layers removes the d middle ones
    (CATransformers' text-tower rule). Nested for every d, so one order serves all layer counts."""
    dropped: list[int] = []
    for d in range(1, n + 1):
        start = (n - d) // 2
        new = [i for i in range(start, start + d) if i not in dropped]
        dropped += new
    return dropped[::-1]
