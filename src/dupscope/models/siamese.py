"""The siamese verifier: a shared encoder, a symmetric fusion and a small MLP head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dupscope.models.config import ModelConfig
from dupscope.models.encoders import Pretrained, create_backbone, get_spec
from dupscope.models.pooling import create_pooling


class PairHead(nn.Module):
    """MLP on concat(|a-b|, a*b). Both terms are symmetric, so f(a, b) == f(b, a) exactly."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2 * dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    @staticmethod
    def fuse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([(a - b).abs(), a * b], dim=-1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.fuse(a, b)).squeeze(-1)


class SiameseVerifier(nn.Module):
    def __init__(self, config: ModelConfig, pretrained: Pretrained = "none") -> None:
        super().__init__()
        self.config = config
        spec = get_spec(config.encoder)
        self.backbone = create_backbone(config.encoder, pretrained)
        self.pool = create_pooling(config.pool)
        width = spec.feature_dim
        if config.embed_dim:
            self.proj: nn.Module = nn.Linear(width, config.embed_dim)
            width = config.embed_dim
        else:
            self.proj = nn.Identity()
        self.embed_dim = width
        self.head = PairHead(width, config.hidden_dim, config.dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embedding: comparable by cosine, indexable by FAISS inner product."""
        return F.normalize(self.proj(self.pool(self.backbone(x))).float(), dim=-1)

    def _check_staged(self) -> None:
        bb = self.backbone
        if not all(hasattr(bb, n) for n in ("conv_stem", "bn1", "blocks", "conv_head", "bn2")):
            raise ValueError(f"staged (cached-trunk) use needs an EfficientNet encoder, not {self.config.encoder}")

    def trunk(self, x: torch.Tensor, upto: int) -> torch.Tensor:
        """The first ``upto`` stages: frozen in cached training, so computed once per image."""
        self._check_staged()
        bb = self.backbone
        x = bb.bn1(bb.conv_stem(x))
        for block in bb.blocks[:upto]:
            x = block(x)
        return x

    def embed_from(self, features: torch.Tensor, start: int) -> torch.Tensor:
        """Finish ``embed`` from the output of stage ``start - 1`` (see :meth:`trunk`)."""
        self._check_staged()
        bb = self.backbone
        x = features
        for block in bb.blocks[start:]:
            x = block(x)
        x = bb.bn2(bb.conv_head(x))
        return F.normalize(self.proj(self.pool(x)).float(), dim=-1)

    def pair_logit(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(a, b)

    def distance_logit(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d = (a - b).norm(dim=-1)
        return self.config.distance_scale * (self.config.distance_offset - d)

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        return self.pair_logit(self.embed(xa), self.embed(xb))
