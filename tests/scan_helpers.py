"""Synthetic images shared by the scan tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def blobs(seed: int, h: int = 96, w: int = 128, radius: tuple[int, int] = (5, 22), n: int = 10) -> np.ndarray:
    """Coloured discs on a dark ground: distinct per seed, with features to match."""
    r = np.random.default_rng(seed)
    img = np.full((h, w, 3), r.integers(0, 60), np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for _ in range(n):
        cy, cx, rad = r.integers(0, h), r.integers(0, w), r.integers(*radius)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < rad**2] = r.integers(60, 255, 3)
    return img


def png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()
