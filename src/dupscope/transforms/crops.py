"""Partial reuse of one image: overlapping crops (positives) and disjoint crops (the
"two fields of view of one slide" hard negative). Boxes are pixel-edge [x0, y0, x1, y1]."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from dupscope.transforms.ops import MIN_SIDE

Box = tuple[int, int, int, int]


def box_overlap(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection area over the smaller box's area (1.0 when one contains the other)."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (iw * ih) / small if small > 0 else 0.0


def _rand_box(rng: np.random.Generator, h: int, w: int, lo: float, hi: float) -> Box:
    bw = max(min(MIN_SIDE, w), int(rng.uniform(lo, hi) * w))
    bh = max(min(MIN_SIDE, h), int(rng.uniform(lo, hi) * h))
    x0 = int(rng.integers(0, w - bw + 1))
    y0 = int(rng.integers(0, h - bh + 1))
    return x0, y0, x0 + bw, y0 + bh


def overlapping_crop_boxes(
    shape: Sequence[int], rng: np.random.Generator, min_overlap: float = 0.5
) -> tuple[Box, Box, float]:
    """Two boxes (each 40-85% of each side) with ``box_overlap >= min_overlap``."""
    h, w = int(shape[0]), int(shape[1])
    if not 0.0 < min_overlap <= 1.0:
        raise ValueError("min_overlap must be in (0, 1]")
    a = _rand_box(rng, h, w, 0.4, 0.85)
    for _ in range(200):
        b = _rand_box(rng, h, w, 0.4, 0.85)
        ov = box_overlap(a, b)
        if ov >= min_overlap and b != a:
            return a, b, ov
    # Fallback: b is a shrunken copy of a (contained, overlap 1.0).
    bw, bh = a[2] - a[0], a[3] - a[1]
    dx, dy = bw // 10, bh // 10
    b = (a[0] + dx, a[1] + dy, a[2] - dx, a[3] - dy)
    return a, b, box_overlap(a, b)


def overlapping_crops(
    img: np.ndarray, rng: np.random.Generator, min_overlap: float = 0.5
) -> tuple[np.ndarray, np.ndarray, float]:
    """Two crops of ``img`` sharing at least ``min_overlap`` of the smaller one's area."""
    a, b, ov = overlapping_crop_boxes(img.shape, rng, min_overlap)
    ca = np.ascontiguousarray(img[a[1]:a[3], a[0]:a[2]]).copy()
    cb = np.ascontiguousarray(img[b[1]:b[3], b[0]:b[2]]).copy()
    return ca, cb, float(ov)


def disjoint_crop_boxes(
    shape: Sequence[int], rng: np.random.Generator, min_frac: float = 0.35
) -> tuple[Box, Box]:
    """Two non-overlapping boxes split along x or y; along the split axis each is at least
    ``min_frac`` of the side (and >= 16 px); ValueError when the image cannot fit them."""
    h, w = int(shape[0]), int(shape[1])
    if not 0.0 < min_frac <= 0.5:
        raise ValueError("min_frac must be in (0, 0.5]")

    def need(n: int) -> int:
        return max(MIN_SIDE, int(math.ceil(min_frac * n)))

    axes = [ax for ax, (n, other) in (("x", (w, h)), ("y", (h, w)))
            if 2 * need(n) <= n and other >= MIN_SIDE]
    if not axes:
        raise ValueError(f"image {w}x{h} too small for two disjoint crops with min_frac={min_frac}")
    ax = axes[int(rng.integers(len(axes)))]
    n, other = (w, h) if ax == "x" else (h, w)
    m = need(n)
    la = int(rng.integers(m, n - m + 1))
    lb = int(rng.integers(m, n - la + 1))
    gap = int(rng.integers(0, n - la - lb + 1))
    off = int(rng.integers(0, n - la - lb - gap + 1))
    spans = [(off, off + la), (off + la + gap, off + la + gap + lb)]
    if rng.random() < 0.5:
        spans.reverse()
    mo = max(min(MIN_SIDE, other), int(math.ceil(min_frac * other)))
    boxes = []
    for s0, s1 in spans:
        lo = int(rng.integers(mo, other + 1))
        o0 = int(rng.integers(0, other - lo + 1))
        boxes.append((s0, o0, s1, o0 + lo) if ax == "x" else (o0, s0, o0 + lo, s1))
    return boxes[0], boxes[1]


def disjoint_crops(
    img: np.ndarray, rng: np.random.Generator, min_frac: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """Two crops of ``img`` that share no pixel (hard negative: same slide, other field)."""
    a, b = disjoint_crop_boxes(img.shape, rng, min_frac)
    ca = np.ascontiguousarray(img[a[1]:a[3], a[0]:a[2]]).copy()
    cb = np.ascontiguousarray(img[b[1]:b[3], b[0]:b[2]]).copy()
    return ca, cb
