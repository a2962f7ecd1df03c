"""Copy-move inside one image: a region pasted elsewhere in the same figure or panel.

Keypoints are matched against the *same* image (and its mirrored descriptors, for
flipped pastes) with a minimum spatial distance, then clusters of matches that share one
similarity transform are found by repeated RANSAC. Natural repetition (cells of one
type, bands of one blot, a grid of wells) produces look-alike keypoints too, so every
cluster must also pass a pixel test: the *fine texture* (noise, grain, JPEG blocks) of
the target region must correlate with the transformed source. A pasted region carries
its source's grain; two bands rendered separately, or two real cells, do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from dupscope.evidence.features import extract_features, sift_variant
from dupscope.transforms import geometry as G

MIN_DIST_FRAC = 0.04  # of the longer side: closer matches are the same structure
MIN_INLIERS = 8
MIN_FINE_NCC = 0.85
MIN_GRAIN = 0.5  # share of region pixels with visible fine texture
MAX_BOX_IOU = 0.3  # source and target must be different places (symmetry is not a copy)
RATIO = 0.7  # stricter than pair matching: in one image everything has look-alikes
MAX_REGIONS = 4


@dataclass
class CopyMoveRegion:
    source_box: list[float]  # [x0, y0, x1, y1] original pixels (pixel edges)
    target_box: list[float]
    inliers: int
    mirrored: bool
    matrix: list[list[float]]  # 2x3 source -> target, original pixels
    texture_ncc: float

    @property
    def confidence(self) -> float:
        """In [0, 1]: more inliers and a closer grain match mean a surer copy."""
        return float((1.0 - math.exp(-self.inliers / 10.0)) * min(1.0, self.texture_ncc / 0.8))

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "source_box", "target_box", "inliers", "mirrored", "matrix", "texture_ncc")}


@dataclass
class CopyMoveResult:
    found: bool = False
    score: float = 0.0
    regions: list[CopyMoveRegion] = field(default_factory=list)
    # (K, 4) matched keypoint pairs x_src, y_src, x_tgt, y_tgt in original pixels.
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)), repr=False)
    shape: tuple[int, int] = (0, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "found": bool(self.found),
            "score": float(self.score),
            "regions": [r.to_json() for r in self.regions],
            "pairs": [[round(float(v), 2) for v in row] for row in self.pairs],
        }


def _self_matches(desc: np.ndarray, qdesc: np.ndarray, pts: np.ndarray, min_dist: float):
    """For each query descriptor, its best match elsewhere in the image, if unambiguous.

    Neighbours closer than ``min_dist`` (the same structure, other orientations) are
    skipped; the ratio test compares the best distant neighbour with the next one.
    """
    n = len(desc)
    if n < 3:
        return np.zeros(0, int), np.zeros(0, int)
    k = min(n, 8)
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(qdesc, desc, k=k)
    qi, ti = [], []
    for i, ms in enumerate(knn):
        far = [m for m in ms if np.hypot(*(pts[m.trainIdx] - pts[i])) >= min_dist]
        if not far:
            continue
        best = far[0]
        nxt = far[1].distance if len(far) > 1 else (ms[-1].distance if len(ms) == k else np.inf)
        if best.distance < RATIO * nxt:
            qi.append(i)
            ti.append(best.trainIdx)
    return np.asarray(qi, int), np.asarray(ti, int)


def _iou(p: np.ndarray, q: np.ndarray) -> float:
    (ax0, ay0), (ax1, ay1) = p.min(axis=0), p.max(axis=0)
    (bx0, by0), (bx1, by1) = q.min(axis=0), q.max(axis=0)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return float(inter / union) if union > 0 else 1.0


def _fine(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), 1.2)


def _texture_ncc(gray: np.ndarray, m3: np.ndarray, src_pts: np.ndarray, pad: float) -> float:
    """Correlation of fine texture between the target region and the moved source.

    Measured over the flatter half of the region: the edges of structures rendered twice
    (a gel's two marker lanes, one ladder drawn in each) have the same fine detail
    without any grain in common, and put the whole region at 0.86; their flat half
    correlates at 0.78, a pasted region's at 0.98 or more.
    """
    h, w = gray.shape
    fine = _fine(gray)
    smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2.0)
    edges = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    moved = cv2.warpAffine(fine, m3[:2], (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    valid = cv2.warpAffine(np.ones((h, w), np.uint8), m3[:2], (w, h), flags=cv2.INTER_NEAREST)
    tgt = G.apply_matrix(m3, src_pts)
    x0, y0 = np.floor(tgt.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(tgt.max(axis=0) + pad).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    a = fine[y0:y1, x0:x1]
    b = moved[y0:y1, x0:x1]
    v = valid[y0:y1, x0:x1] > 0
    if v.sum() < 60:
        return 0.0
    e = edges[y0:y1, x0:x1]
    v &= e <= np.median(e[v])
    a, b = a[v].astype(np.float64), b[v].astype(np.float64)
    # Clean renderings (flat fills with crisp edges) repeat exactly by design; without
    # grain across the region there is nothing that tells a paste from a repeat.
    if float((np.abs(a) > 1.0).mean()) < MIN_GRAIN:
        return 0.0
    a -= a.mean()
    b -= b.mean()
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-6 else 0.0


def detect_copy_move(
    img, *, max_side: int = 512, suppress_text: bool = True, min_inliers: int = MIN_INLIERS,
) -> CopyMoveResult:
    """Find regions duplicated within one image (plain, rotated, scaled or mirrored)."""
    # Full working resolution and a low contrast threshold: a pasted region may be small,
    # and only keypoints inside it can reveal it.
    f = extract_features(img, max_side=max_side, suppress_text=suppress_text, max_keypoints=4000,
                         feature_fraction=1.0, contrast_threshold=0.015, min_side=0,
                         stretch_contrast=False)
    h, w = f.shape
    res = CopyMoveResult(shape=f.orig_shape)
    if f.binary:
        return res
    # Repeated words and tick labels are legitimate repeats: text keypoints never vote.
    keep = ~f.on_text
    pts = f.points[keep].astype(np.float64)
    desc = np.ascontiguousarray(f.descriptors[keep])
    if len(pts) < min_inliers:
        return res
    min_dist = max(12.0, MIN_DIST_FRAC * max(h, w))

    groups = []
    for mirror in (False, True):
        q = sift_variant(desc, mirror, False) if mirror else desc
        qi, ti = _self_matches(desc, q, pts, min_dist)
        if len(qi) == 0:
            continue
        # (i, j) and (j, i) are the same evidence (a mirror relation is symmetric too):
        # keep one, oriented left to right so one cluster has one transform.
        key = {tuple(sorted((a, b))) for a, b in zip(qi, ti)}
        pairs = np.array(sorted(key), int).reshape(-1, 2)
        swap = pts[pairs[:, 0], 0] > pts[pairs[:, 1], 0]
        pairs[swap] = pairs[swap][:, ::-1]
        qi, ti = pairs[:, 0], pairs[:, 1]
        groups.append((mirror, qi, ti))

    fine_pad = 4.0
    src_all, tgt_all = [], []
    for mirror, qi, ti in groups:
        src = pts[qi].copy()
        dst = pts[ti].copy()
        alive = np.ones(len(src), bool)
        for _ in range(MAX_REGIONS):
            idx = np.flatnonzero(alive)
            if len(idx) < min_inliers:
                break
            s = src[idx].copy()
            if mirror:
                s[:, 0] = -s[:, 0]
            m, inl = cv2.estimateAffinePartial2D(
                s, dst[idx], method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=2000,
                confidence=0.995, refineIters=10,
            )
            if m is None:
                break
            inl = inl.ravel().astype(bool)
            if inl.sum() < min_inliers:
                break
            alive[idx[inl]] = False
            m3 = np.vstack([m, [0, 0, 1]])
            if mirror:
                m3 = m3 @ np.diag([-1.0, 1.0, 1.0])
            scale = math.sqrt(abs(np.linalg.det(m3[:2, :2])))
            ps, pt = src[idx[inl]], dst[idx[inl]]
            shift = float(np.median(np.linalg.norm(pt - ps, axis=1)))
            if not (0.5 <= scale <= 2.0) or shift < min_dist:
                continue
            # A cluster must cover an area, not a single blob seen at several scales.
            ext = np.ptp(ps, axis=0)
            if ext.max() < 8.0:
                continue
            # A symmetric object matches its own mirror image in place: not a copy.
            if _iou(ps, pt) > MAX_BOX_IOU:
                continue
            ncc = _texture_ncc(f.gray, m3, ps, fine_pad)
            if ncc < MIN_FINE_NCC:
                continue
            # Back to original pixels.
            S = G.scaling_about_edges(*f.factor)
            Si = np.linalg.inv(S)
            m_orig = Si @ m3 @ S
            ps_o, pt_o = G.apply_matrix(Si, ps), G.apply_matrix(Si, pt)
            pad_o = fine_pad / f.factor[0]

            def box(p: np.ndarray) -> list[float]:
                oh, ow = f.orig_shape
                x0, y0 = np.maximum(p.min(axis=0) - pad_o + 0.5, 0)
                x1, y1 = np.minimum(p.max(axis=0) + pad_o + 0.5, [ow, oh])
                return [round(float(v), 1) for v in (x0, y0, x1, y1)]

            res.regions.append(CopyMoveRegion(
                source_box=box(ps_o), target_box=box(pt_o), inliers=int(inl.sum()),
                mirrored=bool(mirror), matrix=[[round(float(v), 5) for v in r] for r in m_orig[:2]],
                texture_ncc=round(ncc, 3),
            ))
            src_all.append(ps_o)
            tgt_all.append(pt_o)
    if res.regions:
        res.regions.sort(key=lambda r: -r.inliers)
        res.pairs = np.hstack([np.vstack(src_all), np.vstack(tgt_all)])
        res.score = res.regions[0].confidence
        res.found = True
    return res


def visualize_copy_move(img, result: CopyMoveResult, out_path: str | Path) -> Path:
    """PNG with source boxes (cyan), target boxes (magenta) and match lines."""
    from dupscope.io import load_image

    rgb = load_image(img).copy()
    lw = max(1, round(max(rgb.shape[:2]) / 400))
    for r in result.regions:
        for bx, col in ((r.source_box, (0, 200, 255)), (r.target_box, (255, 0, 200))):
            x0, y0, x1, y1 = (int(round(v)) for v in bx)
            cv2.rectangle(rgb, (x0, y0), (x1 - 1, y1 - 1), col, lw + 1)
    for xs, ys, xt, yt in result.pairs:
        cv2.line(rgb, (int(xs), int(ys)), (int(xt), int(yt)), (255, 255, 0), lw, cv2.LINE_AA)
        cv2.circle(rgb, (int(xs), int(ys)), 2 * lw, (0, 200, 255), -1)
        cv2.circle(rgb, (int(xt), int(yt)), 2 * lw, (255, 0, 200), -1)
    label = f"copy-move: {'FOUND' if result.found else 'none'}  score={result.score:.2f}"
    cv2.putText(rgb, label, (5, 15 * lw + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * lw, (255, 0, 0), lw, cv2.LINE_AA)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return out
