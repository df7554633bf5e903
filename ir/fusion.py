"""One entry point for the fusion passes: mask artefacts, then attention, then epilogues; validated after each."""

from __future__ import annotations

from .artefacts import drop_mask_artefacts
from .attention import fuse_attention
from .epilogues import fuse_epilogues
from .graph import Graph
from .validate import validate


def fuse(graph: Graph, attention: bool = True, epilogues: bool = True, artefacts: bool = True) -> Graph:
    """Return a new graph with the chosen passes applied in this order:

    1. ``drop_mask_artefacts``: provable no-ops on attention scores go first, so they are neither fused nor costed;
    2. ``fuse_attention``: before epilogues, so the score scaling and masking are not taken as the QK^T
       contraction's epilogue;
    3. ``fuse_epilogues``: bias, activation, residual and normalisation ops join their contraction.

    MACs are unchanged by every pass; vector work is unchanged by 2 and 3 and falls by exactly the removed
    no-ops' element operations in 1. Repeated-layer blocks stay consistent.
    """
    g = validate(graph)
    if artefacts:
        g = drop_mask_artefacts(g)
    if attention:
        g = fuse_attention(g)
    if epilogues:
        g = fuse_epilogues(g)
    return g
