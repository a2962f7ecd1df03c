"""Training losses. Each takes embeddings and/or head logits and returns a scalar."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def weighted_bce(logits: torch.Tensor, target: float, weight: float = 1.0) -> torch.Tensor:
    if logits.numel() == 0:
        return logits.sum() * 0.0
    y = torch.full_like(logits, target)
    return weight * F.binary_cross_entropy_with_logits(logits, y)


def cosine_regulariser(a: torch.Tensor, p: torch.Tensor, n: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    """Pull derived pairs together, push hard negatives below ``margin`` cosine."""
    pos = 1.0 - F.cosine_similarity(a, p)
    neg = F.relu(F.cosine_similarity(a, n) - margin)
    return pos.mean() + neg.mean()


def contrastive(a: torch.Tensor, b: torch.Tensor, label: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    d = (a - b).norm(dim=-1)
    return (label * d.pow(2) + (1 - label) * F.relu(margin - d).pow(2)).mean()


def triplet(a: torch.Tensor, p: torch.Tensor, n: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    return F.relu((a - p).norm(dim=-1) - (a - n).norm(dim=-1) + margin).mean()


def hardest(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Online hard-negative mining: the k negatives per row the model currently scores highest."""
    k = min(k, logits.shape[-1])
    return logits.topk(k, dim=-1).values
