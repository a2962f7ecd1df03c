"""ImageNet-feature cosine: the off-the-shelf embedding a user would reach for first."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dupscope.models.encoders import create_backbone, get_spec
from dupscope.preprocess import to_tensor


class ImageNetCosine:
    def __init__(self, encoder: str = "efficientnet_lite0", device: str = "cpu") -> None:
        self.spec = get_spec(encoder)
        self.model = create_backbone(encoder, pretrained="offline").to(device).eval()
        self.device = device

    @torch.inference_mode()
    def embed(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        s = self.spec
        out = []
        for i in range(0, len(images), batch_size):
            x = to_tensor(images[i : i + batch_size], s.input_size, s.mean, s.std).to(self.device)
            f = self.model(x).mean(dim=(2, 3))
            out.append(F.normalize(f, dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, s.feature_dim), np.float32)

    @staticmethod
    def similarity(ea: np.ndarray, eb: np.ndarray) -> np.ndarray:
        return np.sum(ea * eb, axis=1)
