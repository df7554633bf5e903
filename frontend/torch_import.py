"""torch ``nn.Module`` -> torch.export -> TVM Relax (``from_exported_program``) -> IR."""

from __future__ import annotations

from typing import Any

from ir import Graph, fold_repeats

from .errors import FrontendError
from .relax_to_ir import relax_to_ir


def module_to_relax(module: Any, example_inputs: tuple) -> Any:
    import torch
    from tvm.relax.frontend.torch import from_exported_program

    if not isinstance(module, torch.nn.Module):
        raise FrontendError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    module = module.eval()
    try:
        with torch.no_grad():
            ep = torch.export.export(module, example_inputs)
    except Exception as e:  # torch raises many error types from deep inside
        raise FrontendError(f"torch.export failed for {type(module).__name__}: {str(e).splitlines()[0]}") from None
    try:
        return from_exported_program(ep, keep_params_as_input=True)
    except Exception as e:
        raise FrontendError(f"TVM could not import the exported program of {type(module).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def load_module(module: Any, example_inputs: tuple, name: str | None = None, bits: int = 8,
                fold: bool = True) -> Graph:
    """Lower an ``nn.Module`` called on ``example_inputs`` to a validated IR graph (repeated layers folded)."""
    mod = module_to_relax(module, example_inputs)
    g = relax_to_ir(mod, name or type(module).__name__, bits=bits)
    g.meta["source"] = "torch"
    return fold_repeats(g) if fold else g
