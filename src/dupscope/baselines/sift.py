"""The plain local-feature check a careful user would run: SIFT + ratio test + RANSAC.

Deliberately *without* dupscope's additions (text suppression, twin rejection, spread
and pixel-agreement checks) so benchmarks show what those additions buy. It is mirror-
aware (B is also matched flipped) because any user checking for reuse would try that.
"""

from __future__ import annotations

import cv2
import numpy as np

from dupscope.io import load_image

_MAX_SIDE = 512


def _gray(img) -> np.ndarray:
    rgb = load_image(img)
    h, w = rgb.shape[:2]
    s = _MAX_SIDE / max(h, w)
    if s < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _inliers(sift, ka, da, gb: np.ndarray, ratio: float) -> int:
    kb, db = sift.detectAndCompute(gb, None)
    if da is None or db is None or len(ka) < 2 or len(kb) < 2:
        return 0
    good = []
    for ms in cv2.BFMatcher(cv2.NORM_L2).knnMatch(db, da, k=2):
        if len(ms) == 2 and ms[0].distance < ratio * ms[1].distance:
            good.append(ms[0])
    if len(good) < 4:
        return 0
    src = np.float32([ka[m.trainIdx].pt for m in good])
    dst = np.float32([kb[m.queryIdx].pt for m in good])
    # Mirroring is covered by matching against the flipped B, so a similarity suffices.
    _, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    return 0 if inl is None else int(inl.sum())


def sift_ransac_inliers(a, b, *, ratio: float = 0.75) -> int:
    """Best RANSAC inlier count of B (as is, or mirrored) against A."""
    ga, gb = _gray(a), _gray(b)
    sift = cv2.SIFT_create()
    ka, da = sift.detectAndCompute(ga, None)
    return max(_inliers(sift, ka, da, gb, ratio), _inliers(sift, ka, da, np.ascontiguousarray(gb[:, ::-1]), ratio))


def sift_ransac_score(a, b, *, ratio: float = 0.75) -> float:
    """Inlier count as a score in [0, 1) (monotone: ``n / (n + 20)``); higher = more likely derived."""
    n = sift_ransac_inliers(a, b, ratio=ratio)
    return float(n / (n + 20.0))
