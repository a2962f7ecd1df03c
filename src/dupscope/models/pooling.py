"""Global pooling layers for turning a feature map into one embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GeM(nn.Module):
    """Generalised-mean pooling: between average (p=1) and max (p→∞); p is learnt.

    Copy-detection work (SSCD, retrieval literature) finds GeM keeps small distinctive
    structures that average pooling washes out, which is what separates two fields of view.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.clamp(min=1.0, max=8.0)
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(p), 1).pow(1.0 / p).flatten(1)


class AvgPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


POOLINGS = {"gem": GeM, "avg": AvgPool}


def create_pooling(name: str) -> nn.Module:
    try:
        return POOLINGS[name]()
    except KeyError:
        raise ValueError(f"unknown pooling {name!r}; choose from {sorted(POOLINGS)}") from None
