"""Pruned-CLIP variants for model search: knob values -> CLIPConfig -> IR (instantiated from the family's parametric
template, or lowered once per tower shape; fused by ``ir.fuse``) and, when the model side provides it, accuracy on
the built-in benchmark."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import ir

from .errors import EvaluationError, StudyError

TOWER_PARTS = {"image": ("image",), "text": ("text",), "both": ("image", "text")}
CONFIG_SIDE = {"image": "vision", "text": "text"}
# Where the model evaluator (accuracy of a pruned CLIP on the built-in benchmark) may live.
ACCURACY_FUNCTIONS = (("frontend.evaluate", "evaluate"), ("frontend.clip", "evaluate"), ("frontend.proxy", "evaluate"))


def accuracy_function() -> Callable | None:
    """``evaluate(config, evaluator=..., budget=...)`` of the model side, or None when this build lacks it."""
    for mod_name, attr in ACCURACY_FUNCTIONS:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        fn = getattr(mod, attr, None)
        if callable(fn):
            return fn
    return None


def read_accuracy(result: Any) -> float:
    """The accuracy fraction from the evaluator's result (a number, a mapping or an object with ``accuracy``)."""
    if isinstance(result, (int, float)):
        return float(result)
    if isinstance(result, Mapping) and "accuracy" in result:
        return float(result["accuracy"])
    if hasattr(result, "accuracy"):
        return float(result.accuracy)
    raise EvaluationError(f"the model evaluator returned {type(result).__name__} without an 'accuracy' field")


# What each model-side evaluator measures (frontend.evaluate.evaluate's ``evaluator`` names).
EVALUATORS = {
    "proxy": "mean image-text retrieval R@1 on the built-in benchmark's held-out split ({test_n:,} procedural "
             "32x32 scenes), no recovery",
    "finetune": "the same R@1 after recovery distillation from the unpruned model ({budget} steps, scaled by the "
                "FLOP reduction)",
}


def accuracy_source(spec: Any) -> str | None:
    """What measures a study's ``accuracy`` (evaluator, data, network), for every table, plot and summary that shows
    it; None when the study has no accuracy."""
    if not spec.needs_accuracy:
        return None
    from frontend.evaluate.api import FINETUNE_BUDGET
    from frontend.proxy import bench

    f = spec.fidelity

    def what(name: str, budget: int | None) -> str:
        text = EVALUATORS.get(name, f"the model evaluator {name!r}")
        return f"'{name}': " + text.format(test_n=bench.TEST_N, budget=budget or FINETUNE_BUDGET)
    proxy = bench.model.NAME
    net = f"measured on the benchmark CLIP ({proxy}, {_proxy_params():,} parameters)"
    if spec.model.spec != "frontend.proxy.model:build":
        name = spec.model.spec.split(":", 1)[-1]
        net += f" with {name}'s knob values carried to the same relative positions of its pruning ranges " \
               f"(hardware metrics are {name}'s)"
    out = f"{what(f.low, f.low_budget)}, {net}"
    if f.high and f.promote:
        out += f"; the {f.promote} most accurate front designs re-scored with {what(f.high, f.high_budget)}"
    return out


def _proxy_params() -> int:
    from frontend.clip import Arch, params
    from frontend.proxy import model
    arch = Arch.of(model.build())
    return params(arch, arch.config())


class PrunedCLIP:
    """One open_clip base architecture and its pruned variants (towers fused by ``ir.fuse`` unless ``fuse=False``,
    so the attention schedule knob has fused attention ops to act on)."""

    def __init__(self, spec: str, tower: str = "both", batch: int = 1, cache_dir: str | Path | None = None,
                 fuse: bool = True):
        if ":" not in spec:
            raise StudyError(f"model.spec: model knobs prune a CLIP; the spec must be openclip:ARCH or "
                             f"module:callable (returning an open_clip CLIP), got {spec!r}")
        self.spec = spec
        self.name = spec.split(":", 1)[1] if spec.startswith("openclip:") else spec.replace(":", ".")
        self.tower = tower
        self.batch = batch
        self.fuse = fuse
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._model = None
        self._arch = None
        self._graphs: dict[tuple, ir.Graph] = {}
        self._templates: dict[str, Any] = {}          # part -> TowerTemplate, or None where the family does not fit
        self.template_dir: str | Path | None = None   # parametric cache (default: frontend's cache root)

    def __getstate__(self) -> dict:
        # the torch model stays behind; architecture, templates and lowered graphs travel, so a worker needs
        # neither torch.export nor TVM (and builds the model only for a family without a template)
        return {**self.__dict__, "_model": None}

    @property
    def model(self):
        if self._model is None:
            if self.spec.startswith("openclip:"):
                from frontend.openclip import create_model
                self._model = create_model(self.name).eval()
            else:
                mod_name, _, attr = self.spec.partition(":")
                try:
                    self._model = getattr(importlib.import_module(mod_name), attr)().eval()
                except (ImportError, AttributeError) as e:
                    raise StudyError(f"model.spec {self.spec!r}: cannot load the model ({e})") from None
        return self._model

    def shapes(self):
        """The model's structure without weights where possible (open_clip on the meta device), else the model."""
        if self._model is None and self.spec.startswith("openclip:"):
            from frontend.openclip import create_model
            return create_model(self.name, device="meta")
        return self.model

    @property
    def arch(self):
        if self._arch is None:
            from frontend.clip import Arch
            self._arch = Arch.of(self.shapes(), self.name)
        return self._arch

    def knob_values(self) -> dict[str, list[int]]:
        return self.arch.space().knob_values()

    def config(self, values: Mapping[str, Any]):
        """The CLIPConfig of the knob values (unsearched knobs at the base model's size), checked against the space."""
        from frontend.clip import CLIPConfig
        from frontend.clip.errors import ConfigError
        knobs = {**self.arch.config().knobs(), **{k: int(v) for k, v in values.items()
                                                   if k.startswith(("text_", "vision_"))}}
        try:
            return self.arch.space().validate_config(CLIPConfig.from_knobs(knobs))
        except ConfigError as e:
            raise EvaluationError(str(e)) from None

    def params(self, config) -> int:
        from frontend.clip import params
        return params(self.arch, config)

    def prepare(self) -> None:
        """Build the model, its architecture and each tower's parametric template now (on the driver), so that
        copies sent to workers instantiate graphs without torch.export or TVM."""
        from frontend.clip import template
        _ = self.arch
        todo = [p for p in TOWER_PARTS[self.tower] if p not in self._templates]
        if todo:
            shapes = self.shapes()
            for part in todo:
                self._templates[part] = template(shapes, part, self.batch, self.name, self.template_dir,
                                                 fit_model=lambda: self.model, fuse=self.fuse)
        if all(t is not None for t in self._templates.values()):
            self._model = None        # weights only serve fitting (ViT-B/16's are 0.6 GB); templates are cached

    def graph(self, config) -> ir.Graph:
        """IR of the variant, towers merged as ``frontend.load`` does; each tower from its parametric template
        (milliseconds) or, where the family does not fit one, lowered once per tower shape."""
        parts = {p: self._tower_graph(p, getattr(config, CONFIG_SIDE[p])) for p in TOWER_PARTS[self.tower]}
        if len(parts) == 1:
            return next(iter(parts.values()))
        return ir.merge(f"{self.name}.{config.key()}", parts)

    def _tower_graph(self, part: str, tc) -> ir.Graph:
        if part not in self._templates:
            self.prepare()
        tpl = self._templates[part]
        if tpl is not None:
            return tpl.instantiate(tc)
        return self._lowered(part, tc)

    def _lowered(self, part: str, tc) -> ir.Graph:
        """Fallback for families without a template: ``frontend.clip.lower_fresh`` once per (heads, FFN, width)
        shape, repeated to any depth; lowered shapes are kept in ``cache_dir`` across processes and workers."""
        from frontend.clip import CLIPConfig, lower_fresh, with_depth

        shape = (part, tc.heads, tc.ffn, tc.width)
        g = self._graphs.get(shape)
        if g is None:
            stem = f"{self.name}-{part}-b{self.batch}-h{tc.heads}-f{tc.ffn}-w{tc.width}" \
                + ("" if self.fuse else "-unfused")
            path = self.cache_dir / f"{stem}.json" if self.cache_dir else None
            if path is not None and path.is_file():
                g = ir.load(path)
            else:
                base = self.arch.config()
                cfg = CLIPConfig(**{**{"text": base.text, "vision": base.vision}, CONFIG_SIDE[part]: tc})
                g = lower_fresh(self.model, cfg, part, self.batch, self.name, fuse=self.fuse)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    ir.save(g, tmp)
                    tmp.replace(path)          # atomic: parallel workers never read half a file
            self._graphs[shape] = g
        return with_depth(g, tc.layers)
