"""Zero-shot classification accuracy and image-text retrieval recall from embeddings."""

from __future__ import annotations

import torch


def zero_shot_accuracy(image_feats: torch.Tensor, class_feats: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of nearest class embedding (features L2-normalised by the caller)."""
    return float(((image_feats @ class_feats.t()).argmax(1) == labels).float().mean())


def retrieval_recall(image_feats: torch.Tensor, text_feats: torch.Tensor, match: torch.Tensor,
                     ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Recall@k both ways. ``match[i, j]`` is True when text j describes image i (several may)."""
    sim = image_feats @ text_feats.t()
    out = {}
    for k in ks:
        k_t, k_i = min(k, sim.shape[1]), min(k, sim.shape[0])
        i2t = match.gather(1, sim.topk(k_t, dim=1).indices).any(1).float().mean()
        t2i = match.t().gather(1, sim.t().topk(k_i, dim=1).indices).any(1).float().mean()
        out[f"i2t_r{k}"], out[f"t2i_r{k}"] = float(i2t), float(t2i)
        out[f"r{k}"] = float((i2t + t2i) / 2)
    return out


def chance_recall(match: torch.Tensor, k: int = 1) -> float:
    """Expected mean recall@k of a random ranking (hypergeometric: no match among k draws)."""
    def side(m: torch.Tensor) -> float:
        n = m.shape[1]
        hits = []
        for c in m.sum(1).tolist():
            miss = 1.0
            for j in range(min(k, n)):
                miss *= max(0.0, (n - c - j) / (n - j))
            hits.append(1 - miss)
        return sum(hits) / len(hits)
    return (side(match) + side(match.t())) / 2


@torch.no_grad()
def encode(model: torch.nn.Module, images: torch.Tensor | None = None, tokens: torch.Tensor | None = None,
           batch: int = 256, device: str | torch.device = "cpu") -> torch.Tensor:
    """Normalised embeddings of images or token batches, in chunks."""
    x, f = (images, model.encode_image) if images is not None else (tokens, model.encode_text)
    return torch.cat([f(x[i:i + batch].to(device), normalize=True).float().cpu() for i in range(0, len(x), batch)])
