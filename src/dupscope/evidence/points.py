"""Point sources (stars, isolated spots) and the pattern two pictures share.

A star field is hundreds of look-alike blobs: SIFT's ratio test throws their matches
away (every star's descriptor has a twin), and the tile check sees few content tiles on
a black sky. Astronomers align such frames by the *pattern* of the sources instead
(asterisms). Here an alignment proposed elsewhere (the dense thumbnail fit, or a weak
keypoint fit) is confirmed or rejected by how many sources land on sources, against the
number chance would put there: a copy keeps nearly all of them in place, a new patch of
sky with the same instrument keeps almost none.

Only isolated sources count: grid crossings of a heatmap, or the corners of cells, are
blobs to a band-pass filter too, but lines run through them, and sibling heatmaps share
them (up to 72% of their "sources" under one fit, validation split, session 14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import binom

from dupscope.transforms import geometry as G

MAX_SOURCES = 400
SIGMA = (1.5, 4.5)  # band-pass (difference of Gaussians), working pixels
DETECT_SIGMAS = 5.0  # a source stands this many noise deviations above its surround
MIN_RESPONSE = 4.0  # grey levels: a floor for flat, noiseless pictures
EDGE_RATIO = 4.0  # Hessian principal-curvature ratio above which a peak is on an edge
RING = 7.0  # working pixels: radius of the ring that must be background
ISOLATION = 0.5  # the ring may rise at most this share of the way to the peak
SEARCH = 10.0  # working pixels of B: how far off the proposed fit a partner may lie
TOLERANCE = 2.5  # working pixels of B: a source coincides within this after the refit


def point_sources(gray: np.ndarray, text: np.ndarray | None = None, max_sources: int = MAX_SOURCES) -> np.ndarray:
    """(N, 2) float32 (x, y) of isolated point sources, strongest first (text left out).

    Sources are bright on a dark picture and dark on a light one (an inverted star
    chart, spots on a bright-field slide): the polarity follows the median grey.
    """
    g = gray.astype(np.float32)
    if float(np.median(gray[::4, ::4])) > 127.0:
        g = 255.0 - g
    smooth = cv2.GaussianBlur(g, (0, 0), SIGMA[0])
    band = smooth - cv2.GaussianBlur(g, (0, 0), SIGMA[1])
    sample = band[::3, ::3]  # the noise level from a ninth of the pixels
    mad = float(np.median(np.abs(sample - np.median(sample))))
    floor = max(DETECT_SIGMAS * 1.4826 * mad, MIN_RESPONSE)
    peak = (band == cv2.dilate(band, np.ones((5, 5), np.uint8))) & (band > floor)
    ys, xs = np.nonzero(peak)
    h, w = g.shape
    inside = (xs > 0) & (xs < w - 1) & (ys > 0) & (ys < h - 1)
    xs, ys = xs[inside], ys[inside]
    if text is not None and len(xs):
        keep = text[ys, xs] == 0
        xs, ys = xs[keep], ys[keep]
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32)
    # Blobs, not edges (SIFT's test on the Hessian's principal curvatures).
    c = smooth[ys, xs]
    dxx = smooth[ys, xs + 1] + smooth[ys, xs - 1] - 2 * c
    dyy = smooth[ys + 1, xs] + smooth[ys - 1, xs] - 2 * c
    dxy = (smooth[ys + 1, xs + 1] - smooth[ys + 1, xs - 1] - smooth[ys - 1, xs + 1] + smooth[ys - 1, xs - 1]) / 4
    tr, det = dxx + dyy, dxx * dyy - dxy * dxy
    blob = (det > 0) & (tr * tr * EDGE_RATIO < det * (EDGE_RATIO + 1) ** 2)
    xs, ys = xs[blob], ys[blob]
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32)
    # Isolated: the ring around the source is background, no line runs through it.
    t = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)
    rx = (xs[:, None] + RING * np.cos(t)[None]).astype(np.float32)
    ry = (ys[:, None] + RING * np.sin(t)[None]).astype(np.float32)
    ring = cv2.remap(smooth, rx, ry, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    top, bg = smooth[ys, xs], np.median(ring, axis=1)
    iso = ring.max(axis=1) <= bg + ISOLATION * (top - bg)
    xs, ys = xs[iso], ys[iso]
    order = np.argsort(-band[ys, xs], kind="stable")[:max_sources]
    return np.stack([xs[order], ys[order]], 1).astype(np.float32)


@dataclass
class PointMatch:
    """Sources of A that land on sources of B under ``m3`` (A -> B, working pixels).

    ``n_a`` and ``n_b`` count each side's sources inside the other picture; ``chance``
    is the probability that one of A's lands within the tolerance of one of B's at
    random, and ``log10_p`` the binomial tail of ``matched`` such landings.
    """

    matched: int = 0
    n_a: int = 0
    n_b: int = 0
    chance: float = 0.0
    log10_p: float = 0.0
    m3: np.ndarray | None = None
    ia: np.ndarray | None = None  # indices of the matched sources in A ...
    ib: np.ndarray | None = None  # ... and of their partners in B

    @property
    def share(self) -> float:
        """Matched sources as a share of the sparser side's (within the overlap)."""
        return self.matched / max(1, min(self.n_a, self.n_b))


def _inside(p: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return (p[:, 0] >= 0) & (p[:, 0] <= w - 1) & (p[:, 1] >= 0) & (p[:, 1] <= h - 1)


def coincident_points(pa: np.ndarray, pb: np.ndarray, m3: np.ndarray, shape_a: tuple[int, int],
                      shape_b: tuple[int, int], overlap_area_b: float) -> PointMatch:
    """Refit ``m3`` on the sources near where it sends A's, and count those that coincide.

    The proposed fit may be a few pixels off (a thumbnail fit): partners are looked for
    within ``SEARCH``, an affine is refitted by RANSAC on them, and only sources within
    ``TOLERANCE`` of the refit count. ``overlap_area_b`` (B's pixels the two pictures
    share under ``m3``) sets the density of B's sources, hence the chance of a landing.
    """
    out = PointMatch()
    if len(pa) < 3 or len(pb) < 3:
        return out
    proj = G.apply_matrix(m3, pa)
    ina = np.nonzero(_inside(proj, shape_b))[0]
    inb = np.nonzero(_inside(G.apply_matrix(np.linalg.inv(m3), pb), shape_a))[0]
    out.n_a, out.n_b = len(ina), len(inb)
    if out.n_a < 3 or out.n_b < 3:
        return out
    dist, idx = cKDTree(pb[inb]).query(proj[ina], distance_upper_bound=SEARCH)
    hit = np.isfinite(dist)
    if hit.sum() < 3:
        return out
    src, dst = pa[ina[hit]], pb[inb[idx[hit]]]
    m, inl = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=TOLERANCE)
    if m is None or inl is None:
        return out
    inl = inl.ravel().astype(bool)
    out.matched = int(inl.sum())
    out.m3 = np.vstack([m, [0.0, 0.0, 1.0]])
    out.ia, out.ib = ina[hit][inl], inb[idx[hit]][inl]
    out.chance = min(1.0, out.n_b / max(overlap_area_b, 1.0) * math.pi * TOLERANCE ** 2)
    out.log10_p = float(binom.logsf(out.matched - 1, out.n_a, out.chance) / math.log(10.0))
    return out
