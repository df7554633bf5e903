"""Model specs -> IR: ``openclip:ARCH``, ``gemm:M,K,N``, ``path/to/model.onnx`` and ``module:callable``."""

from __future__ import annotations

import copy
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ir import Graph, fuse as fuse_graph, merge

from .errors import BindingError, ModelSpecError
from .gemm import gemm_graph, parse_gemm
from .moe import LoadModel

SPEC_FORMS = ("openclip:ARCH (e.g. openclip:ViT-B-16)", "gemm:M,K,N", "PATH.onnx", "module:callable")


def load(spec: str, tower: str = "image", bits: int = 8, batch: int = 1, dims: dict[str, int] | None = None,
         shapes: dict[str, list[int]] | None = None, keep_weight_compute: bool = False,
         moe_load: LoadModel | str | list[float] | None = None, fuse: bool = True) -> Graph:
    """Lower the model named by ``spec`` to a validated IR graph with repeated layers folded.

    ``fuse`` (default) runs the IR's fusion passes (``ir.fuse``: mask artefacts dropped, attention as one fused
    op, bias/activation/normalisation epilogues joined to their contraction), as a transformer compiler would;
    MACs are unchanged. ``fuse=False`` gives the graph exactly as the importer produced it.

    ``tower`` picks a CLIP tower (image, text, both); ``dims``/``shapes`` bind an ONNX model's dynamic dims;
    ``keep_weight_compute`` keeps compute on weights alone as ops (by default it is folded and reported in
    ``graph.meta["folded"]``); ``moe_load`` is the mixture-of-experts load model (``frontend.moe``; uniform).
    """
    if not isinstance(spec, str) or not spec:
        raise ModelSpecError(f"model spec must be a non-empty string; forms: {', '.join(SPEC_FORMS)}")
    load_model = LoadModel.parse(moe_load)
    is_onnx = spec.endswith(".onnx") or Path(spec).suffix == ".onnx"
    if (dims or shapes) and not is_onnx:
        raise BindingError(f"--dim/--shape (dims=/shapes=) bind an ONNX model's inputs; {spec!r} is not an ONNX "
                           "file (torch models take their shapes from their example inputs)")
    if spec.startswith("openclip:"):
        g = copy.deepcopy(_openclip(spec.split(":", 1)[1], tower, bits, batch, keep_weight_compute))
    elif spec.startswith("gemm:"):
        g = gemm_graph(*parse_gemm(spec.split(":", 1)[1]), bits=bits)
    elif is_onnx:
        from .onnx_import import load_onnx
        g = load_onnx(spec, dims=dims, shapes=shapes, bits=bits, keep_weight_compute=keep_weight_compute,
                      moe_load=load_model)
    elif ":" in spec and not Path(spec).exists():
        g = _module_spec(spec, bits, keep_weight_compute, load_model)
    else:
        raise ModelSpecError(f"model spec {spec!r} names no known model; forms: {', '.join(SPEC_FORMS)}")
    if fuse:
        g = fuse_graph(g)
    g.meta["fused"] = bool(fuse)
    return g


@lru_cache(maxsize=16)
def _openclip(arch: str, tower: str, bits: int, batch: int, keep_weight_compute: bool = False) -> Graph:
    from .openclip import SOURCE_ROOTS, create_model, tower_modules
    from .torch_import import load_module

    model = create_model(arch)
    parts = {k: load_module(m, x, name=f"{arch}.{k}", bits=bits, source_root=SOURCE_ROOTS[k],
                            keep_weight_compute=keep_weight_compute)
             for k, (m, x) in tower_modules(model, tower, batch).items()}
    g = next(iter(parts.values())) if len(parts) == 1 else merge(f"{arch}.both", parts)
    g.meta.update(spec=f"openclip:{arch}", tower=tower, folded=folded_total(parts.values()))
    return g


def folded_total(graphs) -> dict[str, int]:
    """The folded weight and constant compute of several graphs, summed (``graph.meta["folded"]``)."""
    total: dict[str, int] = {}
    for g in graphs:
        for k, v in g.meta.get("folded", {}).items():
            total[k] = total.get(k, 0) + v
    return total


def _module_spec(spec: str, bits: int, keep_weight_compute: bool = False, moe_load: LoadModel | None = None) -> Graph:
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
    g = load_module(module, inputs if isinstance(inputs, tuple) else (inputs,), name=attr, bits=bits,
                    keep_weight_compute=keep_weight_compute, moe_load=moe_load)
    g.meta["spec"] = spec
    return g
