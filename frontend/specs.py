"""Model specs -> IR: ``openclip:ARCH``, ``gemm:M,K,N``, ``path/to/model.onnx`` and ``module:callable``."""

from __future__ import annotations

import copy
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ir import Graph, merge

from .errors import ModelSpecError
from .gemm import gemm_graph, parse_gemm

SPEC_FORMS = ("openclip:ARCH (e.g. openclip:ViT-B-16)", "gemm:M,K,N", "PATH.onnx", "module:callable")


def load(spec: str, tower: str = "image", bits: int = 8, batch: int = 1, dims: dict[str, int] | None = None,
         shapes: dict[str, list[int]] | None = None) -> Graph:
    """Lower the model named by ``spec`` to a validated IR graph with repeated layers folded.

    ``tower`` picks a CLIP tower (image, text, both); ``dims``/``shapes`` bind an ONNX model's dynamic dims.
    """
    if not isinstance(spec, str) or not spec:
        raise ModelSpecError(f"model spec must be a non-empty string; forms: {', '.join(SPEC_FORMS)}")
    if spec.startswith("openclip:"):
        return copy.deepcopy(_openclip(spec.split(":", 1)[1], tower, bits, batch))
    if spec.startswith("gemm:"):
        return gemm_graph(*parse_gemm(spec.split(":", 1)[1]), bits=bits)
    if spec.endswith(".onnx") or Path(spec).suffix == ".onnx":
        from .onnx_import import load_onnx
        return load_onnx(spec, dims=dims, shapes=shapes, bits=bits)
    if ":" in spec and not Path(spec).exists():
        return _module_spec(spec, bits)
    raise ModelSpecError(f"model spec {spec!r} names no known model; forms: {', '.join(SPEC_FORMS)}")


@lru_cache(maxsize=16)
def _openclip(arch: str, tower: str, bits: int, batch: int) -> Graph:
    from .openclip import create_model, tower_modules
    from .torch_import import load_module

    model = create_model(arch)
    parts = {k: load_module(m, x, name=f"{arch}.{k}", bits=bits) for k, (m, x) in
             tower_modules(model, tower, batch).items()}
    g = next(iter(parts.values())) if len(parts) == 1 else merge(f"{arch}.both", parts)
    g.meta.update(spec=f"openclip:{arch}", tower=tower)
    return g


def _module_spec(spec: str, bits: int) -> Graph:
    """``pkg.module:callable`` where ``callable()`` returns ``(nn.Module, example_inputs)``."""
    from .torch_import import load_module

    mod_name, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # ImportError, an empty or relative name (ValueError, TypeError), the module's own code
        raise ModelSpecError(f"model spec {spec!r}: cannot import module {mod_name!r} ({e}); forms: "
                             f"{', '.join(SPEC_FORMS)}") from None
    fn: Any = getattr(mod, attr, None)
    if not callable(fn):
        raise ModelSpecError(f"model spec {spec!r}: {mod_name} has no callable {attr!r}")
    try:
        made = fn()
    except Exception as e:  # the user's callable failed: say so in one line, naming it
        raise ModelSpecError(f"model spec {spec!r}: {attr}() raised {type(e).__name__}: {e}") from None
    if not (isinstance(made, tuple) and len(made) == 2):
        raise ModelSpecError(f"model spec {spec!r}: {attr}() must return (nn.Module, example_inputs)")
    module, inputs = made
    g = load_module(module, inputs if isinstance(inputs, tuple) else (inputs,), name=attr, bits=bits)
    g.meta["spec"] = spec
    return g
