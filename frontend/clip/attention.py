"""Self-attention whose inner width (heads x head_dim) is decoupled from the residual width."""

from __future__ import annotations

import torch
from torch import nn


class HeadAttention(nn.Module):
    """Drop-in for the ``nn.MultiheadAttention`` inside open_clip's ResidualAttentionBlock (self-attention,
    batch first), with ``heads * head_dim`` free of ``width``. ``head_gate`` (None or a tensor of shape (heads,))
    scales each head's output; importance scoring differentiates through it."""

    def __init__(self, width: int, heads: int, head_dim: int):
        super().__init__()
        self.width, self.heads, self.head_dim = width, heads, head_dim
        self.in_proj = nn.Linear(width, 3 * heads * head_dim)
        self.out_proj = nn.Linear(heads * head_dim, width)
        self.head_gate: torch.Tensor | None = None

    @classmethod
    def from_mha(cls, mha: nn.Module, keep_heads: list[int], keep_dims: list[int]) -> "HeadAttention":
        """Slice an nn.MultiheadAttention (or a HeadAttention) to the given heads and residual dimensions."""
        if isinstance(mha, HeadAttention):
            w_in, b_in = mha.in_proj.weight, mha.in_proj.bias
            w_out, b_out = mha.out_proj.weight, mha.out_proj.bias
            H, D = mha.heads, mha.head_dim
        else:
            w_in, b_in = mha.in_proj_weight, mha.in_proj_bias
            w_out, b_out = mha.out_proj.weight, mha.out_proj.bias
            H, D = mha.num_heads, mha.head_dim
        rows = torch.tensor([s * H * D + h * D + d for s in range(3) for h in keep_heads for d in range(D)])
        inner = torch.tensor([h * D + d for h in keep_heads for d in range(D)])
        dims = torch.tensor(keep_dims)
        new = cls(len(keep_dims), len(keep_heads), D)
        with torch.no_grad():
            new.in_proj.weight.copy_(w_in[rows][:, dims])
            new.in_proj.bias.copy_(b_in[rows] if b_in is not None else torch.zeros(len(rows)))
            new.out_proj.weight.copy_(w_out[dims][:, inner])
            new.out_proj.bias.copy_(b_out[dims] if b_out is not None else torch.zeros(len(dims)))
        return new.to(w_in.dtype).to(w_in.device)

    def forward(self, q_x: torch.Tensor, k_x: torch.Tensor | None = None, v_x: torch.Tensor | None = None,
                need_weights: bool = False, attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        B, T, _ = q_x.shape
        H, D = self.heads, self.head_dim
        q, k, v = self.in_proj(q_x).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        a = (q * D ** -0.5) @ k.transpose(-2, -1)
        if attn_mask is not None:
            a = a + attn_mask
        o = a.softmax(dim=-1) @ v
        if self.head_gate is not None:
            o = o * self.head_gate.view(1, H, 1, 1)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, H * D)), None
