"""Helpers for the search tests: a small real study (one GEMM on the edge template) that runs in ms/trial."""

from __future__ import annotations

import copy

EDGE = {"cores": [1, 2, 4], "pe_rows": [32, 64, 128, 256], "pe_cols": [2, 4, 8, 16, 32, 64],
        "local_buffer_kb": [64, 128, 256, 512, 1024], "local_bw_words_per_cycle": [32, 64, 128],
        "global_buffer_mb": [2, 4, 8]}


def gemm_study(**over) -> dict:
    doc = {"name": "gemm-test", "model": {"spec": "gemm:197,768,3072"},
           "hardware": {"template": "catransformers-edge", "knobs": copy.deepcopy(EDGE)},
           "objectives": ["carbon_kg", "latency_s"],
           "constraints": [{"metric": "pes", "max": 16384}],
           "optimizer": {"kind": "random", "trials": 20, "seed": 3}}
    for k, v in over.items():
        doc[k] = v
    return doc


def tiny_clip():
    """A small open_clip CLIP (2-layer towers, width 64) for fast model-knob tests; random weights."""
    import torch
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
    torch.manual_seed(0)
    return CLIP(embed_dim=32, vision_cfg=CLIPVisionCfg(image_size=32, patch_size=8, width=64, layers=4, head_width=16),
                text_cfg=CLIPTextCfg(context_length=12, vocab_size=50, width=64, heads=4, layers=4))
