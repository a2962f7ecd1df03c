"""Turning canonical RGB arrays into model input tensors, identically in training and use."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

# The 8 elements of the dihedral group on a square image: (k quarter turns, then mirror?).
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((k, m) for m in (False, True) for k in range(4))


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Squash to size x size: aspect changes are one of the edits we must see through."""
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def to_tensor(
    images: Sequence[np.ndarray],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    batch = np.stack([resize_square(im, size) for im in images]).astype(np.float32) / 255.0
    batch = (batch - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def dihedral(x: torch.Tensor, k: int, mirror: bool) -> torch.Tensor:
    """Apply one of the 8 rotations/flips to an NCHW batch (square inputs)."""
    if mirror:
        x = torch.flip(x, dims=(3,))
    return torch.rot90(x, k, dims=(2, 3)) if k else x
