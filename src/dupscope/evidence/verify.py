"""Pair verification: is B a geometrically and photometrically edited copy of A?

Pipeline (all at working resolution, results mapped back to original pixels):

1. Keypoints (SIFT by default). Keypoints whose descriptor window is mostly text (labels,
   tick labels, fonts) are flagged: they may help *align* a pair but never count as
   evidence, because distinct figures from one lab share them.
2. Matching B against A in four descriptor variants (plain, mirrored, inverted, both),
   Lowe ratio test in both images' own terms: a match is kept only if the A keypoint and
   the B keypoint each have no near twin elsewhere in their own image (repeated glyphs,
   ticks, periodic patterns carry no evidence of *which* place matches).
3. RANSAC similarity fit (mirror handled by reflecting A's points), then an affine
   refinement for resizes that change the aspect ratio.
4. Checks that separate derivation from look-alikes: inliers must cover the overlap
   area (``spread``), and the aligned pixels must agree (``agreement``: correlation of
   B warped onto A, text excluded). Sibling charts share a frame and labels but not data,
   so they fail the pixel check even when a few frame corners survive matching.
5. Photometric fit on the aligned pixels: grayscale, inversion, contrast gain, offset.

Transform convention (shared with :mod:`dupscope.transforms`):
``B = resize(crop(rotate(mirror(A) if mirrored else A, rotation_deg), crop_box_a), scale)``;
``matrix`` maps A pixel centres to B pixel centres (2x3, original resolution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import cv2
import numpy as np

from dupscope.evidence.features import (
    ImageFeatures,
    detect,
    extract_features,
    norm_type,
    sift_variant,
    text_flags,
    twin_distances,
)
from dupscope.io import load_image
from dupscope.transforms import geometry as G

RATIO = 0.8
RANSAC_PX = 3.0  # reprojection threshold in working pixels of B
MIN_INLIERS = 10
MIN_SPREAD = 0.25
MIN_AGREEMENT = 0.7
STRICT_AGREEMENT = 0.9
MIN_CONTENT_TILES = 8
MAX_ANISOTROPY = 1.6
# Found derived pairs on the validation split fit with a skew (|cos| between the matrix's
# rows or columns, see ``geometry.skew``) of 0.007 at most. A dense fit sheared by 15
# degrees (skew 0.25) laid sibling blot strips' bands on each other at 0.98 agreement
# (fresh corpus seed 9, session 10).
MAX_SKEW = 0.05
SCALE_RANGE = (1 / 12, 12.0)
GRID = 4
EARLY_STOP = 40  # inliers after which the remaining descriptor variants are skipped


@dataclass
class GeometricEvidence:
    """Outcome of :func:`verify_pair`. Transform fields are ``None`` unless ``found``.

    ``inliers`` counts RANSAC inliers on content (text keypoints excluded); ``score`` in
    [0, 1] combines inliers, their ``spread`` over the overlap and the pixel ``agreement``.
    ``derived`` names the image the evidence shows was made from the other: ``"b"``, or
    ``"a"`` when it holds only that way round (see :func:`verify_either_way`). The
    geometric fields always map A to B; ``grayscale`` and ``inverted`` describe the
    derived image.
    """

    found: bool = False
    score: float = 0.0
    inliers: int = 0
    rotation_deg: float | None = None
    mirrored: bool | None = None
    scale: float | None = None
    crop_box_a: list[float] | None = None
    overlap_fraction: float | None = None
    grayscale: bool | None = None
    contrast: float | None = None
    brightness: float | None = None
    inverted: bool | None = None
    matrix: list[list[float]] | None = None
    derived: str = "b"
    # Diagnostics (not part of the JSON contract).
    spread: float = 0.0
    agreement: float = 0.0
    content_tiles: int = 0
    text_inliers: int = 0
    matches: int = 0
    sheared: bool = False  # a dense fit the pixels confirm, rejected for its shear alone
    dense_near: bool = False  # a close dense fit whose pixels nearly agree (DENSE_NEAR)
    detector: str = "sift"
    shape_a: tuple[int, int] = (0, 0)
    shape_b: tuple[int, int] = (0, 0)
    points_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)), repr=False)
    points_b: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)), repr=False)

    JSON_FIELDS = (
        "found", "score", "inliers", "rotation_deg", "mirrored", "scale", "crop_box_a",
        "overlap_fraction", "grayscale", "contrast", "brightness", "inverted", "matrix", "derived",
    )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the transform (plain Python types only)."""
        out: dict[str, Any] = {}
        for k in self.JSON_FIELDS:
            v = getattr(self, k)
            if isinstance(v, (np.floating, np.integer, np.bool_)):
                v = v.item()
            out[k] = v
        return out

    def matrix3(self) -> np.ndarray | None:
        """3x3 homogeneous A->B matrix (original pixels), or None."""
        if self.matrix is None:
            return None
        return np.vstack([np.asarray(self.matrix, np.float64), [0.0, 0.0, 1.0]])


@dataclass
class _Fit:
    m3: np.ndarray  # 3x3 A->B, working coordinates
    inl: np.ndarray  # bool mask over the variant's matches
    ia: np.ndarray  # A keypoint index of each match
    pb: np.ndarray  # B point (working coords) of each match
    text: np.ndarray  # match involves a text keypoint (in A or B)
    mirror: bool
    invert: bool

    @property
    def n(self) -> int:
        return int(self.inl.sum())


# --------------------------------------------------------------------------- matching

def _ratio_matches(
    dq: np.ndarray, dt: np.ndarray, twin_q: np.ndarray, twin_t: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (iq, it) of unambiguous query->train matches."""
    if len(dq) < 2 or len(dt) < 2:
        return np.zeros(0, int), np.zeros(0, int)
    knn = cv2.BFMatcher(norm_type(dq)).knnMatch(dq, dt, k=2)
    iq, it = [], []
    for ms in knn:
        if len(ms) < 2:
            continue
        m, n2 = ms
        d = m.distance
        if d < ratio * n2.distance and d < ratio * twin_q[m.queryIdx] and d < ratio * twin_t[m.trainIdx]:
            iq.append(m.queryIdx)
            it.append(m.trainIdx)
    return np.asarray(iq, int), np.asarray(it, int)


def _variants(fb: ImageFeatures):
    """(mirror, invert, points, descriptors, twin distances, on-text flags) of B as seen
    mirrored/inverted.

    Points stay in B's own coordinates; the mirror is applied to A's points in the fit.
    """
    order = ((False, False), (True, False), (False, True), (True, True))
    if fb.detector == "sift":
        for mirror, invert in order:
            yield (mirror, invert, fb.points, sift_variant(fb.descriptors, mirror, invert),
                   fb.twin_dist, fb.on_text)
        return
    # Binary descriptors cannot be permuted: re-detect on the flipped / inverted image.
    fb = fb.with_pixels()
    w = fb.shape[1]
    for mirror, invert in order:
        g = fb.gray[:, ::-1] if mirror else fb.gray
        g = 255 - g if invert else g
        t = fb.text[:, ::-1] if mirror else fb.text
        if not mirror and not invert:
            pts, desc, on_text = fb.points, fb.descriptors, fb.on_text
        else:
            pts, sizes, desc, _ = detect(np.ascontiguousarray(g), fb.detector)
            on_text = text_flags(np.ascontiguousarray(t), pts, sizes)
            if mirror:
                pts = pts.copy()
                pts[:, 0] = w - 1 - pts[:, 0]
        yield mirror, invert, pts, desc, twin_distances(desc, pts), on_text


_FLIP = np.diag([-1.0, 1.0, 1.0])


def _fit_variant(pa: np.ndarray, pb: np.ndarray, mirror: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Similarity RANSAC then affine refinement; returns (3x3 A->B, inlier mask)."""
    src = pa.copy()
    if mirror:
        src[:, 0] = -src[:, 0]
    sim, inl = cv2.estimateAffinePartial2D(
        src, pb, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=2000,
        confidence=0.995, refineIters=10,
    )
    if sim is None:
        return None
    m3 = np.vstack([sim, [0, 0, 1]])
    inl = inl.ravel().astype(bool)
    # Aspect-changing resize: the similarity only fits locally. Gather the matches
    # roughly consistent with it and let a full affine explain them; when it explains few
    # of the matches, also fit the affine to all of them (a sparse picture resized 1.3x
    # in one direction: 7 of 13 similarity inliers, the wrong ones).
    res = np.linalg.norm(G.apply_matrix(m3, src) - pb, axis=1)
    span = float(np.ptp(pb, axis=0).max()) if len(pb) else 0.0
    subsets = []
    if inl.sum() >= 8:
        subsets.append((res < max(8.0, 0.08 * span), 8))
    if inl.sum() < 0.6 * len(src):
        subsets.append((np.ones(len(src), bool), 6))
    for cand, least in subsets:
        if cand.sum() < least:
            continue
        aff, _ = cv2.estimateAffine2D(
            src[cand], pb[cand], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
            maxIters=1000, confidence=0.995, refineIters=10,
        )
        if aff is None:
            continue
        a3 = np.vstack([aff, [0, 0, 1]])
        if np.linalg.det(aff[:, :2]) > 0 and _plausible(a3):
            ainl = np.linalg.norm(G.apply_matrix(a3, src) - pb, axis=1) < RANSAC_PX
            if ainl.sum() > inl.sum() + max(2, 0.1 * inl.sum()):
                m3, inl = a3, ainl
    if mirror:
        m3 = m3 @ _FLIP
    return m3, inl


def _plausible(m3: np.ndarray) -> bool:
    """An editor's resize: scale within ``SCALE_RANGE``, aspect change within
    ``MAX_ANISOTROPY``, no shear beyond ``MAX_SKEW``."""
    sv = np.linalg.svd(m3[:2, :2], compute_uv=False)
    if not np.all(np.isfinite(sv)) or sv[1] <= 0:
        return False
    return (sv[0] / sv[1] <= MAX_ANISOTROPY and SCALE_RANGE[0] <= math.sqrt(sv[0] * sv[1]) <= SCALE_RANGE[1]
            and G.skew(m3) <= MAX_SKEW)


def _best_fit(fa: ImageFeatures, fb: ImageFeatures, ratio: float) -> tuple[_Fit | None, int]:
    best: _Fit | None = None
    n_matches = 0
    for mirror, invert, pts_b, desc_b, twin_b, text_b in _variants(fb):
        ib, ia = _ratio_matches(desc_b, fa.descriptors, twin_b, fa.twin_dist, ratio)
        n_matches = max(n_matches, len(ia))
        if len(ia) < 4:
            continue
        r = _fit_variant(fa.points[ia].astype(np.float64), pts_b[ib].astype(np.float64), mirror)
        if r is None:
            continue
        m3, inl = r
        if not _plausible(m3):
            continue
        fit = _Fit(m3, inl, ia, pts_b[ib], fa.on_text[ia] | text_b[ib], mirror, invert)
        if best is None or fit.n > best.n:
            best = fit
        if best.n >= EARLY_STOP:
            break  # variants are tried plain first: a strong fit will not be beaten
    return best, n_matches


# --------------------------------------------------------------------------- checks

def _overlap_polygon(m3: np.ndarray, shape_a, shape_b) -> np.ndarray:
    """Convex polygon (A working coords) where A and B overlap."""
    ha, wa = shape_a
    hb, wb = shape_b
    rect_b = np.array([[-0.5, -0.5], [wb - 0.5, -0.5], [wb - 0.5, hb - 0.5], [-0.5, hb - 0.5]])
    back = G.apply_matrix(np.linalg.inv(m3), rect_b).astype(np.float32)
    rect_a = np.array([[-0.5, -0.5], [wa - 0.5, -0.5], [wa - 0.5, ha - 0.5], [-0.5, ha - 0.5]], np.float32)
    e1, e2 = back[1] - back[0], back[2] - back[1]
    if e1[0] * e2[1] - e1[1] * e2[0] < 0:
        back = back[::-1].copy()
    area, poly = cv2.intersectConvexConvex(rect_a, np.ascontiguousarray(back))
    if poly is None or area <= 0:
        return np.zeros((0, 2), np.float32)
    return poly.reshape(-1, 2)


def _spread(poly: np.ndarray, content: np.ndarray, inliers: np.ndarray) -> float:
    """Share of the overlap's keypoint-bearing grid cells that hold an inlier."""
    if len(poly) < 3 or len(inliers) == 0:
        return 0.0
    x0, y0 = poly.min(axis=0)
    x1, y1 = poly.max(axis=0)
    cw, ch = max((x1 - x0) / GRID, 1e-6), max((y1 - y0) / GRID, 1e-6)
    contour = poly.reshape(-1, 1, 2).astype(np.float32)

    def cells(p: np.ndarray) -> set[tuple[int, int]]:
        out = set()
        for x, y in p:
            if cv2.pointPolygonTest(contour, (float(x), float(y)), False) < 0:
                continue
            out.add((min(GRID - 1, int((x - x0) / cw)), min(GRID - 1, int((y - y0) / ch))))
        return out

    c_content = cells(content)
    c_inl = cells(inliers)
    if not c_content:
        return 0.0
    return len(c_inl & c_content) / len(c_content)


@dataclass
class _Photometric:
    agreement: float
    content_tiles: int
    grayscale: bool
    contrast: float
    brightness: float
    inverted: bool


def _warp_onto(
    fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray, pixels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B's ``pixels`` (its rgb or gray) warped onto A; where B covers A, eroded so that
    no interpolated border pixel counts; and where B holds text."""
    ha, wa = fa.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    m = m3[:2].astype(np.float64)
    warped = cv2.warpAffine(pixels, m, (wa, ha), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpAffine(np.full(fb.shape, 255, np.uint8), m, (wa, ha), flags=flags)
    valid = cv2.erode((valid == 255).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return warped, valid, cv2.warpAffine(fb.text, m, (wa, ha), flags=flags) > 0


def _pava(y: list[float], w: list[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators), per point."""
    vals: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for yi, wi in zip(y, w):
        vals.append(yi)
        wts.append(wi)
        lens.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v, wv, n = vals.pop(), wts.pop(), lens.pop()
            total = wts[-1] + wv
            vals[-1] = (vals[-1] * wts[-1] + v * wv) / total
            wts[-1] = total
            lens[-1] += n
    return [v for v, n in zip(vals, lens) for _ in range(n)]


def monotone_curve(means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rising or falling curve through per-level means that fits them best (weighted).

    Every photometric edit an editor makes (contrast, levels, gamma, inversion, a grey
    conversion) keeps the order of the levels. An unconstrained lookup does not: a
    picture of a few flat colours (a heatmap, a bar chart) maps each level of A onto
    whatever B holds there, so two heatmaps with one layout and different cells agreed
    everywhere. A monotone curve cannot send A's levels wherever it likes.
    """
    m, c = means.astype(np.float64).tolist(), counts.astype(np.float64).tolist()
    up = np.asarray(_pava(m, c))
    down = -np.asarray(_pava([-v for v in m], c))
    err = lambda f: float(np.dot(counts, (means - f) ** 2))  # noqa: E731
    return up if err(up) <= err(down) else down


MONOTONE = True  # tone curves keep the order of levels (off only to show why, in a test)
COLOUR_MIN_SHARE = 0.1  # of the compared pixels clearly coloured in A for the colour check
COLOUR_MIN_CHROMA = 30.0  # spread of a tile's mean R, G, B for it to count as coloured
# Levels a tile's mean may miss its channel's curve by. Over the matches of corpus seeds
# 0-12, 12 cost six correct ones their evidence (a 1.3x contrast, a 0.8 gamma, ...) and 24
# two, both on the edge of a gate (agreement 0.699 against 0.7, 0.893 against 0.9).
COLOUR_TOLERANCE = 24.0
COLOUR_BLUR = 4.0


def _level_curve(levels: np.ndarray, y: np.ndarray, keep: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """B's mean per level of A (``levels``: integers below ``n``), fitted monotone:
    (the levels seen often enough, the curve's value at each)."""
    cnt = np.bincount(levels[keep], minlength=n).astype(np.float64)
    tot = np.bincount(levels[keep], weights=y[keep], minlength=n)
    good = cnt >= 10
    means = tot[good] / cnt[good]
    return np.flatnonzero(good), (monotone_curve(means, cnt[good]) if MONOTONE else means)


def _colour_agreement(rgb_a: np.ndarray, rgb_b: np.ndarray, keep: np.ndarray) -> tuple[float, int]:
    """(share, number) of coloured tiles whose mean colour one tone curve per channel explains.

    Grey levels cannot tell the two ends of a diverging colour map apart (coolwarm's red
    and blue differ by 24 grey levels): two correlation heatmaps with one layout agreed at
    0.86 in grey (fresh corpus seed 12). Every photometric edit of the catalogue maps each
    channel through a curve of its own, so a coloured copy agrees channel by channel.
    Tile means, not pixels: JPEG keeps colour at half resolution and coarsely quantised,
    and noise is per channel; a pixel-level test lost three JPEG-saved copies (seed 1).
    """
    h, w = keep.shape
    tile = TILE
    th, tw = h // tile, w // tile
    if th == 0 or tw == 0:
        return 0.0, 0
    k = keep.astype(np.float32)

    def tmean(a: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(a[: th * tile, : tw * tile], dtype=np.float32)
        return cv2.resize(block, (tw, th), interpolation=cv2.INTER_AREA)

    cover = tmean(k)
    sel = cover >= 0.6
    nn = np.maximum(cover, 1e-6)
    means_a, means_b, bad = [], [], np.zeros((th, tw), bool)
    for c in range(3):
        xa, yb = rgb_a[:, :, c], rgb_b[:, :, c].astype(np.float32)
        seen, curve = _level_curve(xa, yb, keep, 256)
        if len(seen) < 2:
            return 0.0, 0
        lut = np.interp(np.arange(256.0), seen, curve).astype(np.float32)
        res = tmean((yb - lut[xa]) * k) / nn
        bad |= np.abs(res) > COLOUR_TOLERANCE
        means_a.append(tmean(xa.astype(np.float32) * k) / nn)
        means_b.append(tmean(yb * k) / nn)
    ma, mb = np.stack(means_a), np.stack(means_b)
    coloured = sel & ((np.ptp(ma, axis=0) >= COLOUR_MIN_CHROMA) | (np.ptp(mb, axis=0) >= COLOUR_MIN_CHROMA))
    if not coloured.any():
        return 0.0, 0
    return float((~bad[coloured]).mean()), int(coloured.sum())


def _photometric(fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray) -> _Photometric:
    """Warp B onto A and compare the aligned pixels."""
    warped, valid, text_b = _warp_onto(fa, fb, m3, fb.rgb)
    keep = valid & (fa.text == 0) & ~text_b
    if keep.sum() < 50:
        return _Photometric(0.0, 0, False, 1.0, 0.0, False)
    # Grayscale: where A is clearly coloured, B (blurred, so per-channel noise added
    # after the conversion does not count as colour) has lost most of it.
    sa_ = cv2.GaussianBlur(fa.rgb[::2, ::2], (0, 0), 1.0).astype(np.int16)
    sb_ = cv2.GaussianBlur(warped[::2, ::2], (0, 0), 1.0).astype(np.int16)
    chroma_a, chroma_b = np.ptp(sa_, axis=2), np.ptp(sb_, axis=2)
    colourful = keep[::2, ::2] & (chroma_a > 20)
    cb = float(np.ptp(warped[::4, ::4].astype(np.int16), axis=2)[keep[::4, ::4]].mean())
    grayscale = bool(colourful.sum() >= max(20, 0.005 * colourful.size)
                     and np.median(chroma_b[colourful]) < 0.25 * np.median(chroma_a[colourful]))
    # Fit on all three channels unless B is gray: an editor's contrast change clips
    # per channel, which a fit on luma would mistake for a lower gain.
    if cb < 2.0:
        xa = fa.gray[:, :, None]
        raw = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)[:, :, None]
    else:
        xa, raw = fa.rgb, warped
    xa = cv2.GaussianBlur(xa, (0, 0), 1.2).reshape(xa.shape)
    yb = cv2.GaussianBlur(raw, (0, 0), 1.2).reshape(raw.shape)
    n_keep = int(keep.sum())
    step = max(1, int(math.sqrt(n_keep * xa.shape[2] / 12000)))  # subsample big overlaps
    sel = keep[::step, ::step]
    x = xa[::step, ::step][sel].astype(np.float64).ravel()
    y = yb[::step, ::step][sel].astype(np.float64).ravel()
    r0 = raw[::step, ::step][sel].ravel()
    unsat = (r0 > 1) & (r0 < 254)  # saturated outputs carry no gain information
    if unsat.sum() >= 50:
        x, y = x[unsat], y[unsat]
    # Robust linear fit y = g x + c: drop outliers (overlays) and refit.
    ok = np.ones_like(x, bool)
    g, c, corr = 1.0, 0.0, 0.0
    for _ in range(3):
        xs, ys = x[ok], y[ok]
        if len(xs) < 20:
            break
        mx, my = xs.mean(), ys.mean()
        vx, vy = ((xs - mx) ** 2).mean(), ((ys - my) ** 2).mean()
        if vx < 1e-6 or vy < 1e-6:
            break
        cov = ((xs - mx) * (ys - my)).mean()
        g, c = cov / vx, my - cov / vx * mx
        corr = cov / math.sqrt(vx * vy)
        r = y - (g * x + c)
        mad = np.median(np.abs(r[ok])) * 1.4826 + 1.0
        ok = np.abs(r) < 3.0 * mad
    # Either side may have been blurred (or shrunk and re-enlarged), and a scan hands a
    # pair over in either order: compare with the sharper side blurred to a few levels and
    # keep the best; extra blur cannot make different data agree. Strong levels are
    # compared at half size (same tiles, a quarter of the work).
    gray_b = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)
    base_a = cv2.GaussianBlur(fa.gray, (0, 0), 1.5)
    base_b = cv2.GaussianBlur(gray_b, (0, 0), 1.5)
    agreement, tiles = 0.0, 0
    sigmas = (1.5, 1.5)  # the blur of A and of B at which the pixels agree best
    done = False
    for extra in BLUR_LEVELS:
        s = math.hypot(1.5, extra)
        for blur_a in (True, False) if extra else (True,):
            ga = cv2.GaussianBlur(fa.gray, (0, 0), s) if blur_a and extra else base_a
            gb = base_b if blur_a else cv2.GaussianBlur(gray_b, (0, 0), s)
            best = _best_of((agreement, tiles), _either_way(ga, gb, keep, half=extra >= 5.0))
            if best != (agreement, tiles):
                sigmas = (s, 1.5) if blur_a else (1.5, s)
            agreement, tiles = best
            done = agreement >= GOOD_AGREEMENT and tiles >= MIN_CONTENT_TILES
            if done:
                break
        if done:
            break
    colourful_share = colourful.sum() / max(1, keep[::2, ::2].sum())
    if not grayscale and cb >= 2.0 and colourful_share >= COLOUR_MIN_SHARE:
        # At the blur the grey levels agreed best (the sharper side blurred to match a
        # shrunk or blurred copy), then both sides blurred alike: a shrunk copy's sparse
        # dots melt into the ground (seed 12, a flow-cytometry plot).
        colour = (0.0, 0)
        for sa, sb in (sigmas, (COLOUR_BLUR, COLOUR_BLUR)):
            ra, rb = cv2.GaussianBlur(fa.rgb, (0, 0), sa), cv2.GaussianBlur(warped, (0, 0), sb)
            colour = _best_of(colour, _colour_agreement(ra, rb, keep))
            if colour[0] >= GOOD_AGREEMENT:
                break
        if colour[1] >= MIN_CONTENT_TILES:
            agreement = min(agreement, colour[0])
    inverted = bool(g < 0 and corr < -0.3)
    if inverted:
        contrast, brightness = -g, 255.0 - c
    else:
        contrast, brightness = g, c
    return _Photometric(agreement, tiles, grayscale, float(contrast), float(brightness), inverted)


TILE = 16
# Extra blur tried on the sharper side before the tile check, for a copy blurred (or
# shrunk and re-enlarged) by the editor: 8 working pixels covers a sigma-2.5 blur applied
# at half size.
BLUR_LEVELS = (0.0, 1.5, 3.0, 5.0, 8.0)
TILE_CONTENT_STD = 8.0  # grey levels (after blur) for a tile to count as content
GOOD_AGREEMENT = 0.97  # the search over blur levels and curve directions stops here
TILE_R2 = 0.6


def _either_way(ga: np.ndarray, gb: np.ndarray, keep: np.ndarray, half: bool) -> tuple[float, int]:
    """Tile agreement with the tone curve taken A -> B, or B -> A if that explains more.

    A contrast pushed into saturation maps many grey levels onto one: a curve exists from
    the original to the copy but not back, and a scan hands a pair over in either order.
    """
    if half:
        ga, gb, keep, tile = ga[::2, ::2], gb[::2, ::2], keep[::2, ::2], TILE // 2
    else:
        tile = TILE
    best = tile_agreement(ga, gb, keep, tile)
    if best[0] < GOOD_AGREEMENT:
        back = tile_agreement(gb, ga, keep, tile)
        # Only a near-total fit counts the other way: text-heavy diagram crops sharing
        # one style found a partial one (0.64 -> 0.74 on the validation split).
        if back[0] >= STRICT_AGREEMENT:
            best = _best_of(best, back)
    return best


def _best_of(x: tuple[float, int], y: tuple[float, int]) -> tuple[float, int]:
    """The better (agreement, tiles) of two comparisons: one over enough content tiles
    first (a single flat tile agrees with anything), then the higher agreement."""
    ex, ey = x[1] >= MIN_CONTENT_TILES, y[1] >= MIN_CONTENT_TILES
    if ex != ey:
        return x if ex else y
    return y if y[0] > x[0] else x


def tile_agreement(ga: np.ndarray, gb: np.ndarray, keep: np.ndarray, tile: int = TILE) -> tuple[float, int]:
    """(share, number) of content tiles whose aligned pixels agree under one global tone curve.

    A derivation applies one tone mapping to the whole image (contrast, gamma,
    inversion), so after a global lookup ``f(A)`` every tile of B is explained. Sibling
    figures share a frame, labels and background, but their data (dots, bands, cells)
    differ tile by tile, and bands of different strength cannot share one curve. The
    curve is monotone (see :func:`monotone_curve`), as every editor's tone edit is.
    """
    nb = 32
    h, w = ga.shape
    th, tw = h // tile, w // tile
    if th == 0 or tw == 0:
        return 0.0, 0
    # Gray levels are uint8 in a scan: bins and the curve are table lookups (np.interp
    # over every pixel took 8 s of a corpus scan's 112 s of geometry, corpus seed 10).
    byte = ga.dtype == np.uint8
    bins = ga >> 3 if byte else np.clip((ga.astype(np.float32) * (nb / 256.0)).astype(np.int32), 0, nb - 1)
    y = gb.astype(np.float32)
    seen, curve = _level_curve(bins, y, keep, nb)
    if len(seen) == 0:
        return 0.0, 0
    centers = (np.arange(nb) + 0.5) * (256.0 / nb)
    lut = np.interp(centers, centers[seen], curve)
    x = ga.astype(np.float32)
    if byte:
        pred = np.interp(np.arange(256.0), centers, lut).astype(np.float32)[ga]
    else:
        pred = np.interp(x, centers, lut).astype(np.float32)
    k = keep.astype(np.float32)
    r = (y - pred) * k
    size = (tw, th)

    def tsum(a: np.ndarray) -> np.ndarray:  # per-tile sums (area resize = block means)
        block = np.ascontiguousarray(a[: th * tile, : tw * tile], dtype=np.float64)
        return cv2.resize(block, size, interpolation=cv2.INTER_AREA) * float(tile * tile)

    n = tsum(k)
    sel = n >= 0.6 * tile * tile
    if not sel.any():
        return 0.0, 0
    nn = np.maximum(n, 1)
    xk, yk = x * k, y * k
    var_a = tsum(x * xk) / nn - (tsum(xk) / nn) ** 2
    var_b = tsum(y * yk) / nn - (tsum(yk) / nn) ** 2
    content = sel & ((var_a >= TILE_CONTENT_STD ** 2) | (var_b >= TILE_CONTENT_STD ** 2))
    if content.sum() == 0:
        return 0.0, 0
    # A tile B holds flat (contrast pushed into saturation) agrees if the tone curve
    # predicts it flat too: residuals are measured against at least the content floor.
    r2 = 1.0 - (tsum(r * r) / nn) / np.maximum(var_b, TILE_CONTENT_STD ** 2)
    return float((r2[content] >= TILE_R2).mean()), int(content.sum())


def _score(inliers: int, total: int, spread: float, agreement: float, tiles: int) -> float:
    """Scalar in [0, 1]: agreeing aligned pixels, and either content inliers covering the
    overlap or (for label-aligned pairs) near-total pixel agreement over enough content."""
    agree = min(1.0, max(0.0, (agreement - 0.3) / 0.6))
    by_points = (1.0 - math.exp(-inliers / 12.0)) * min(1.0, spread / 0.5)
    dense = ((1.0 - math.exp(-total / 12.0)) * min(1.0, max(0.0, (agreement - 0.8) / 0.15))
             * min(1.0, tiles / MIN_CONTENT_TILES))
    return float(agree * max(by_points, dense))


# --------------------------------------------------------------------------- public API

def verify_features(fa: ImageFeatures, fb: ImageFeatures, *, ratio: float = RATIO) -> GeometricEvidence:
    """Verify a pair from precomputed features (lets a scan cache per-image work).

    Keypoints first; when they find nothing, a dense alignment of the thumbnails (see
    :mod:`dupscope.evidence.dense`) for edits that erase keypoints (heavy blur, noise,
    JPEG): the whole picture or a window of it, then two overlapping parts at one pixel
    size. Every alignment must pass the same tile-by-tile pixel agreement. Last, for
    pictures of point sources (star fields), either alignment may be confirmed by the
    sources that coincide under it (see :func:`_verify_points`).
    """
    ev, kp_m3 = _verify_keypoints(fa, fb, ratio)
    if ev.found:
        return ev
    # Pictures with hardly any keypoints on either side (a strip of three smooth bands)
    # have too little structure for the pixels to tell a blurred copy from a sibling with
    # the same layout; copies the fallback exists for keep their keypoints on one side.
    structured = max(len(fa.points), len(fb.points)) >= MIN_INLIERS
    hypotheses = [kp_m3] if kp_m3 is not None else []
    if structured and fa.thumb is not None and fb.thumb is not None:
        hyp = _dense_hypothesis(fa, fb)
        dense = _verify_dense(fa, fb, hyp) if hyp is not None else None
        if dense is not None and dense.found:
            dense.matches = ev.matches
            return dense
        part = _verify_overlap(fa, fb)
        if part is not None and part.found:
            part.matches = ev.matches
            return part
        ev.sheared = dense is not None and dense.sheared
        ev.dense_near = dense is not None and dense.dense_near
        if hyp is not None and _dense_plausible(hyp[0]):
            hypotheses.append(hyp[0])
        elif min(_n_sources(fa), _n_sources(fb)) >= POINTS_MIN_SOURCES:
            # The dense search proposes "B is A turned (canvas expanded)" but not "A is a
            # window of B turned": a star field rotated by 173 degrees had no fit one way
            # round and 62 coinciding stars the other (corpus seed 1 #22). The other way's
            # fit, inverted, is one more hypothesis for the sources (a few ms, where the
            # whole check the other way round cost 45 ms a pair).
            back = _dense_hypothesis(fb, fa)
            if back is not None and _dense_plausible(back[0]):
                hypotheses.append(np.linalg.inv(back[0]))
    found = _verify_points(fa, fb, hypotheses)
    if found is not None:
        found.matches = ev.matches
        return found
    return ev


# A first attempt this close to a derivation is worth the other way round: an alignment
# whose pixels half agree. Across 4,359 geometry checks of corpus seed 5, 33 such near
# misses cost 2.3 s; the two derivations found the other way round came from 0.56 and 0.68.
REVERSE_MIN_INLIERS = 5
REVERSE_MIN_AGREEMENT = 0.5


def verify_either_way(fa: ImageFeatures, fb: ImageFeatures, *, ratio: float = RATIO) -> GeometricEvidence:
    """:func:`verify_features` for a pair whose source is unknown (a scan, ``compare``).

    The check is not symmetric: descriptors are matched from A to B and the pixels are
    compared on A's grid, so a crop rotated with its corners filled, or a blurred crop,
    can fail as "B from A" and pass as "A from B" (0.68 against 0.81 agreement). Which one
    is the original is exactly what a scan does not know, so a near miss (a few content
    inliers, half the pixels agreeing) is tried the other way round; the evidence found
    says which side it derives.
    """
    ev = verify_features(fa, fb, ratio=ratio)
    near_miss = ev.inliers >= REVERSE_MIN_INLIERS and ev.agreement >= REVERSE_MIN_AGREEMENT
    if ev.found or not (near_miss or ev.sheared or ev.dense_near):
        return ev
    rev = verify_features(fb, fa, ratio=ratio)
    # What the other way round corrects is the pixel comparison, so it must be found on
    # content keypoints and agree better than the first way: sibling gels with one lane
    # layout pass the lenient label-aligned gate, or gain one inlier, the other way round
    # just as often (corpus seeds 2 and 4), with no better agreement. A dense fit the
    # pixels confirmed but sheared is a thumbnail fit gone slightly off: an inverted, noisy
    # copy fitted with a skew of 0.0085 one way and 0.0039 the other (corpus seed 7). A
    # blurred, JPEG-saved crop aligned densely agreed at 0.77 on its own grid and 1.0 on
    # the original's (corpus seed 10): the reverse is held to the same dense standard.
    keypoints = rev.inliers >= MIN_INLIERS and rev.spread >= MIN_SPREAD
    dense_retry = (ev.sheared or ev.dense_near) and rev.detector == "dense"
    if rev.found and ((keypoints and rev.agreement > ev.agreement) or dense_retry):
        return _as_a_to_b(rev)
    return ev


def _n_sources(f: ImageFeatures) -> int:
    return 0 if f.sources is None else len(f.sources)


def _to_original(f: ImageFeatures, pts: np.ndarray) -> np.ndarray:
    """Working-pixel points of ``f`` in its original pixels (working = S @ original)."""
    return G.apply_matrix(np.linalg.inv(G.scaling_about_edges(*f.factor)), pts)


def _as_a_to_b(rev: GeometricEvidence) -> GeometricEvidence:
    """Evidence found as "A from B" re-expressed with A and B in their places."""
    ev = replace(rev, derived="a", shape_a=rev.shape_b, shape_b=rev.shape_a,
                 points_a=rev.points_b, points_b=rev.points_a)
    m = rev.matrix3()
    if m is None:
        return ev
    _set_transform(ev, np.linalg.inv(m))  # B -> A became A -> B
    if rev.overlap_fraction is not None:  # the same overlap, as a share of A instead of B
        area_a, area_b = float(ev.shape_a[0] * ev.shape_a[1]), float(ev.shape_b[0] * ev.shape_b[1])
        ev.overlap_fraction = round(min(1.0, rev.overlap_fraction * area_b / area_a), 4)
    if rev.contrast:  # A = c * B + b, so B = A / c - b / c
        ev.contrast = round(1.0 / rev.contrast, 4)
        ev.brightness = round(-(rev.brightness or 0.0) / rev.contrast, 3)
    return ev


def _verify_keypoints(fa: ImageFeatures, fb: ImageFeatures, ratio: float) -> tuple[GeometricEvidence, np.ndarray | None]:
    """The keypoint evidence, and the fit it judged (working pixels; None without one)."""
    ev = GeometricEvidence(detector=fa.detector, shape_a=fa.orig_shape, shape_b=fb.orig_shape)
    if len(fa.points) < 4 or len(fb.points) < 4:
        return ev, None
    fit, n_matches = _best_fit(fa, fb, ratio)
    ev.matches = n_matches
    if fit is None or fit.n < 3:
        return ev, None
    pa = fa.points[fit.ia[fit.inl]].astype(np.float64)
    pb = fit.pb[fit.inl].astype(np.float64)
    content = fit.inl & ~fit.text
    # Text may propose the alignment, but only content keypoints count as evidence.
    ev.inliers = int(content.sum())
    ev.text_inliers = int((fit.inl & fit.text).sum())
    poly = _overlap_polygon(fit.m3, fa.shape, fb.shape)
    ev.spread = _spread(poly, fa.points[~fa.on_text], fa.points[fit.ia[content]])
    photo = _photometric(fa.with_pixels(), fb.with_pixels(), fit.m3) if fit.n >= 4 else None
    ev.agreement = photo.agreement if photo else 0.0
    ev.content_tiles = photo.content_tiles if photo else 0
    ev.score = _score(ev.inliers, fit.n, ev.spread, ev.agreement, ev.content_tiles)

    ev.points_a, ev.points_b = _to_original(fa, pa), _to_original(fb, pb)

    keypoint_case = ev.inliers >= MIN_INLIERS and ev.spread >= MIN_SPREAD
    # Few content keypoints (a line chart whose markers are all alike): accept an
    # alignment found through its labels only if the aligned data pixels agree nearly
    # everywhere, over enough content to mean something.
    dense_case = (fit.n >= MIN_INLIERS and ev.agreement >= STRICT_AGREEMENT
                  and ev.content_tiles >= MIN_CONTENT_TILES)
    # Too few keypoints survived the edits (a crop pushed into saturation) but those that
    # did propose an alignment: the pixels decide, under the dense fallback's gates.
    pixel_case = (ev.inliers >= PIXEL_MIN_INLIERS
                  and _pixel_case(ev.agreement, ev.content_tiles, fit.m3, poly, fa, fb, PIXEL_MIN_TILES))
    ev.found = bool(ev.agreement >= MIN_AGREEMENT and (keypoint_case or dense_case or pixel_case))
    if ev.found and not keypoint_case and not _text_agrees(fa, fb, fit.m3):
        ev.found = False
    if ev.found:
        _describe(ev, fa, fb, fit.m3, poly, photo)
    return ev, fit.m3


DENSE_MIN_CORRELATION = 0.9  # of the aligned thumbnails, before the pixels are compared
DENSE_MIN_COVER = 0.8  # share of the smaller picture the dense alignment must overlap
# Without keypoints the pixels carry all the evidence: near-total agreement over more
# content than the label-aligned chart case (a crop of one flat bar, a sibling screenshot
# of one dialog, reached 0.92-1.0 agreement over 27-63 tiles on the validation split).
DENSE_AGREEMENT = 0.95
DENSE_MIN_TILES = 32
# Agreement from which a dense fit is refined at half working resolution. The thumbnail
# fit can sit a few working pixels off, and on a sharp, sparse picture compared on the
# blurred copy's grid (one row of blot bands) that leaves 0.61 agreement, 0.96 once refined
# (corpus seed 16 #19, missed at 0.8). Validation split at 0.5, both pair orders: the same
# pairs found (session 17).
DENSE_RETRY = 0.5
DENSE_NEAR = 0.7  # agreement from which a failed dense fit is tried the other way round
# A keypoint fit too weak for the keypoint case is still a hypothesis the pixels can
# confirm, if some content (not text) keypoints carry it: with fewer, a fit through a
# chart's labels put sibling histograms and a sparse scatter crop at 0.96-0.98 agreement
# (corpus seeds 1-2, session 6).
PIXEL_MIN_INLIERS = 5
# ... and twice the dense path's content: its hypothesis comes from a few matches among
# many look-alike keypoints (the dots of a scatter plot), not from a small fixed set.
PIXEL_MIN_TILES = 64


# A pixels-only decision needs a picture of at least 64 x 64 original pixels in the
# overlap (derived pairs it decides on the validation and test splits and planted corpus
# events hold 4,200 or more) ...
PIXEL_MIN_ORIGINAL = 64 * 64
# ... and the two originals at most 4x apart in scale: the catalogue resizes down to 0.3x
# (3.3x apart; derived pairs on both splits and in corpus seeds 0-4 reach 3.2x). Beyond
# it one side's detail is averaged away: a whole 302 x 824 figure, shrunk 6.9x into the
# corner of a small scatter plot, agreed at 0.975 over 198 tiles of mostly white paper
# (corpus seed 3). Session 6 guarded that case with 32 tiles' worth of original pixels on
# both sides, which also lost a planted panel resized to 77 x 82 pixels (seed 4, #23).
PIXEL_MAX_RESAMPLING = 4.0


# Pixels alone fix an alignment only where the content they share has edges in two
# directions: a picture of parallel lines (box borders once their text is masked, one
# straight boundary between two colours) agrees with any picture of lines slid along
# them. Dense fits of derived pairs on the validation split share structure at an
# eigenvalue ratio of 0.036 or more; disjoint crops of a box diagram and of a two-colour field agreed at 0.97-0.99
# over 70-130 tiles with a ratio of 0.0 (test split, session 7).
DENSE_MIN_APERTURE = 0.01
# A dense fit refines one of the coarse search's right-angle +- 20 degree hypotheses; a
# refinement that walked much beyond that range found some other fit than the one proposed.
DENSE_MAX_TILT = 25.0
# A dense fit is a free affine: between siblings it shears to lay one's blobs on the
# other's. Derived pairs the dense path found fit with a skew of 0.004 at most in the
# direction taken (validation split; planted events of corpus seeds 0-9; one of them,
# seed 7 #9, fitted at 0.0085 the other way, see verify_either_way), sibling blot strips
# and a gel against a blot with 0.011 to 0.041 (fresh corpus seed 9, session 10). Little
# margin: a blurred gel crop found the other way round fits at 0.0075 (seed 10 #15).
DENSE_MAX_SKEW = 0.008


def shared_structure(ga: np.ndarray, gb: np.ndarray, keep: np.ndarray, sign: float = 1.0) -> float:
    """Smaller over larger eigenvalue of the gradient structure two aligned gray pictures share.

    The cross structure tensor sums ``grad A grad B^T`` (symmetrised) over ``keep``: edges
    present in both add up, edges in one only average out. Near 0, the shared edges run
    one way and the alignment is free along them (the aperture problem); near 1 they
    run every way. ``sign`` is -1 for an inverted copy.
    """
    a = ga.astype(np.float32)
    b = gb.astype(np.float32)
    k = keep.astype(np.float32)
    gxa, gya = cv2.Sobel(a, cv2.CV_32F, 1, 0), cv2.Sobel(a, cv2.CV_32F, 0, 1)
    gxb, gyb = cv2.Sobel(b, cv2.CV_32F, 1, 0), cv2.Sobel(b, cv2.CV_32F, 0, 1)
    jxx = float((gxa * gxb * k).sum())
    jyy = float((gya * gyb * k).sum())
    jxy = float(((gxa * gyb + gya * gxb) * k).sum()) / 2.0
    lo, hi = np.linalg.eigvalsh(sign * np.array([[jxx, jxy], [jxy, jyy]]))
    return float(max(0.0, lo) / hi) if hi > 0 else 0.0


def _tilt(m3: np.ndarray) -> float:
    """Degrees between the fit's rotation and the nearest right angle."""
    rot, _, _ = G.decompose(m3)
    return abs((rot + 45.0) % 90.0 - 45.0)


def _dense_plausible(m3: np.ndarray) -> bool:
    """:func:`_plausible` and within ``DENSE_MAX_TILT`` of the right angle it started from
    (its shear is judged last, see :func:`_verify_dense`)."""
    return _plausible(m3) and _tilt(m3) <= DENSE_MAX_TILT


def _cover(m3: np.ndarray, poly: np.ndarray, fa: ImageFeatures, fb: ImageFeatures) -> float:
    """Share of the smaller picture (B measured in A's pixels) that the overlap fills."""
    if len(poly) < 3:
        return 0.0
    area_b_in_a = fb.shape[0] * fb.shape[1] / abs(float(np.linalg.det(m3[:2, :2])))
    return float(cv2.contourArea(poly.astype(np.float32))) / min(fa.shape[0] * fa.shape[1], area_b_in_a)


def _overlap_pixels(m3: np.ndarray, poly: np.ndarray, fa: ImageFeatures, fb: ImageFeatures) -> tuple[float, float]:
    """The overlap's area in original pixels of A and of B.

    Both pictures were resampled to working size (small ones enlarged), so tiles counted
    on A's working grid say nothing of how many pixels either original holds there.
    """
    if len(poly) < 3:
        return 0.0, 0.0
    area = float(cv2.contourArea(poly.astype(np.float32)))  # working pixels of A
    in_a = area / (fa.factor[0] * fa.factor[1])
    in_b = area * abs(float(np.linalg.det(m3[:2, :2]))) / (fb.factor[0] * fb.factor[1])
    return in_a, in_b


def _pixel_case(agreement: float, tiles: int, m3: np.ndarray, poly: np.ndarray,
                fa: ImageFeatures, fb: ImageFeatures, min_tiles: int = DENSE_MIN_TILES,
                min_cover: float = DENSE_MIN_COVER) -> bool:
    """An alignment with no keypoint support of its own that the pixels alone confirm.

    The hypotheses are "B is all of A" and "one is a window of the other": the overlap
    must fill (nearly) all of the smaller picture. A fit that slid part-way off (one bar
    of a chart onto its neighbour) is not one of them; overlapping fields of view pass a
    lower ``min_cover`` because their search proved the fit unique (see
    :func:`_verify_overlap`). The content tiles are counted on
    A's working grid, so the originals must also hold enough pixels there
    (``PIXEL_MIN_ORIGINAL``), at comparable scales (``PIXEL_MAX_RESAMPLING``).
    """
    if agreement < DENSE_AGREEMENT or tiles < min_tiles or _cover(m3, poly, fa, fb) < min_cover:
        return False
    in_a, in_b = _overlap_pixels(m3, poly, fa, fb)
    lo, hi = sorted((in_a, in_b))
    return lo >= PIXEL_MIN_ORIGINAL and hi <= PIXEL_MAX_RESAMPLING ** 2 * lo


def _dense_hypothesis(fa: ImageFeatures, fb: ImageFeatures) -> tuple[np.ndarray, float] | None:
    """The dense thumbnail alignment (A -> B, working pixels) and its correlation."""
    from dupscope.evidence.dense import dense_align

    return _in_working_pixels(dense_align(fa.thumb, fb.thumb), fa, fb)


def _in_working_pixels(fit, fa: ImageFeatures, fb: ImageFeatures) -> tuple[np.ndarray, float] | None:
    """A thumbnail fit's matrix in working pixels (thumb = T @ working for each image)."""
    if fit is None:
        return None
    ta = G.scaling_about_edges(fa.thumb.shape[1] / fa.shape[1], fa.thumb.shape[0] / fa.shape[0])
    tb = G.scaling_about_edges(fb.thumb.shape[1] / fb.shape[1], fb.thumb.shape[0] / fb.shape[0])
    return np.linalg.inv(tb) @ fit.m3 @ ta, fit.correlation


def _overlap_hypothesis(fa: ImageFeatures, fb: ImageFeatures) -> tuple[np.ndarray, float] | None:
    """The partial-overlap thumbnail alignment (A -> B, working pixels) and its correlation,
    searched with both originals at one pixel size (see :func:`~dupscope.evidence.dense.overlap_align`)."""
    from dupscope.evidence.dense import overlap_align

    per_orig_a = fa.thumb.shape[1] / fa.shape[1] * fa.factor[0]  # thumbnail pixels per original pixel
    per_orig_b = fb.thumb.shape[1] / fb.shape[1] * fb.factor[0]
    return _in_working_pixels(overlap_align(fa.thumb, fb.thumb, per_orig_b / per_orig_a), fa, fb)


# Overlapping fields of view: the crops share half of the smaller one or more (the
# catalogue's definition, a little less allowed for the fit's rounding). The pixels are
# held to the dense path's gates; what keeps a flat bar slid onto its neighbour out is
# the search's own test that the fit is the one place the part fits (see overlap_align).
# Validation split (session 16): 2 more overlapping crops found, no distinct pair.
OVERLAP_MIN_COVER = 0.45


def _verify_overlap(fa: ImageFeatures, fb: ImageFeatures) -> GeometricEvidence | None:
    """Evidence that A and B are overlapping crops of one picture, or None (both need
    thumbnails, as for :func:`_dense_hypothesis`)."""
    hyp = _overlap_hypothesis(fa, fb)
    return None if hyp is None else _verify_dense(fa, fb, hyp, min_cover=OVERLAP_MIN_COVER)


def _verify_dense(fa: ImageFeatures, fb: ImageFeatures, hypothesis: tuple[np.ndarray, float], *,
                  min_cover: float = DENSE_MIN_COVER, min_tiles: int = DENSE_MIN_TILES) -> GeometricEvidence | None:
    """Evidence from a dense thumbnail alignment (see :func:`_dense_hypothesis`), or None
    when it finds no derivation (not-found evidence flagged ``sheared`` or ``dense_near``
    for a fit worth reversing).

    Without keypoints there is no ``spread`` to check, so the pixels must agree more
    strictly than for label-aligned charts: ``DENSE_AGREEMENT`` over at least
    ``DENSE_MIN_TILES`` content tiles. Sibling blots and charts share a layout the
    thumbnails align on, but their bands and data differ tile by tile.
    """
    from dupscope.evidence.dense import refine_alignment

    m3, correlation = hypothesis
    if correlation < DENSE_MIN_CORRELATION or not _dense_plausible(m3):
        return None
    poly = _overlap_polygon(m3, fa.shape, fb.shape)
    if _cover(m3, poly, fa, fb) < min_cover:  # cheap: before the pixels
        return None
    fa, fb = fa.with_pixels(), fb.with_pixels()
    photo = _photometric(fa, fb, m3)
    passed = _pixel_case(photo.agreement, photo.content_tiles, m3, poly, fa, fb, min_tiles, min_cover)
    if not passed and photo.agreement >= DENSE_RETRY:
        # Nearly agreeing: the thumbnail fit may be a few working pixels off. Refine it
        # at half the working resolution and compare the pixels again.
        half = G.scaling_about_edges(0.5, 0.5)
        small = [cv2.resize(f.gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA) for f in (fa, fb)]
        fine = refine_alignment(small[0], small[1], half @ m3 @ np.linalg.inv(half))
        if fine is not None:
            m3_fine = np.linalg.inv(half) @ fine.m3 @ half
            poly_fine = _overlap_polygon(m3_fine, fa.shape, fb.shape)
            if _dense_plausible(m3_fine) and _cover(m3_fine, poly_fine, fa, fb) >= min_cover:
                photo_fine = _photometric(fa, fb, m3_fine)
                if photo_fine.agreement > photo.agreement:
                    m3, poly, photo = m3_fine, poly_fine, photo_fine
                    passed = _pixel_case(photo.agreement, photo.content_tiles, m3, poly, fa, fb, min_tiles, min_cover)
    if not passed:
        if photo.agreement < DENSE_NEAR:
            return None
        # see verify_either_way: compared on the other picture's grid, it may agree
        return GeometricEvidence(detector="dense", agreement=photo.agreement, content_tiles=photo.content_tiles,
                                 dense_near=True, shape_a=fa.orig_shape, shape_b=fb.orig_shape)
    if _aperture(fa, fb, m3, photo.inverted) < DENSE_MIN_APERTURE:
        return None
    ev = GeometricEvidence(detector="dense", shape_a=fa.orig_shape, shape_b=fb.orig_shape)
    ev.agreement, ev.content_tiles = photo.agreement, photo.content_tiles
    if G.skew(m3) > DENSE_MAX_SKEW:
        ev.sheared = True  # see verify_either_way: the other way round may fit cleanly
        return ev
    ev.found = True
    ev.score = float(min(1.0, (photo.agreement - 0.3) / 0.6) * min(1.0, (correlation - 0.5) / 0.4))
    _describe(ev, fa, fb, m3, poly, photo)
    return ev


# Point sources (see :mod:`dupscope.evidence.points`). On the validation split, under the
# dense fit, 57 derived pairs keep 12-145 sources in place, at least half of them; the 233
# distinct pairs of every kind with a dense fit (sibling skies, scatter plots, fluorescence
# spots) keep at most 9 (session 14).
POINTS_MIN_SOURCES = 12  # on each side, for the check to be tried at all
POINTS_MIN_MATCHED = 12
POINTS_MIN_SHARE = 0.5
POINTS_MAX_LOG10_P = -10.0  # chance of that many landings on a sky of that density


def _verify_points(fa: ImageFeatures, fb: ImageFeatures, hypotheses: list[np.ndarray]) -> GeometricEvidence | None:
    """Found evidence from the point sources two pictures share, or None.

    A star field is what keypoints and tiles both fail on: its stars are look-alikes the
    ratio test discards, and a black sky leaves few content tiles (12-27 where the dense
    path asks 32; fresh corpus seed 13). Each hypothesis (the keypoint fit, the dense
    fit) is refitted on the sources it brings together; the best must carry most of
    them, far beyond chance, and the aligned pixels must still agree.
    """
    from dupscope.evidence.points import coincident_points

    if min(_n_sources(fa), _n_sources(fb)) < POINTS_MIN_SOURCES:
        return None
    best = None
    for m3 in hypotheses:
        if not _plausible(m3):
            continue
        poly = _overlap_polygon(m3, fa.shape, fb.shape)
        if len(poly) < 3:
            continue
        area_b = float(cv2.contourArea(poly.astype(np.float32))) * abs(float(np.linalg.det(m3[:2, :2])))
        pm = coincident_points(fa.sources, fb.sources, m3, fa.shape, fb.shape, area_b)
        if best is None or pm.matched > best.matched:
            best = pm
    if (best is None or best.m3 is None or best.matched < POINTS_MIN_MATCHED
            or best.share < POINTS_MIN_SHARE or best.log10_p > POINTS_MAX_LOG10_P):
        return None
    if not _plausible(best.m3) or G.skew(best.m3) > MAX_SKEW:
        return None
    fa, fb = fa.with_pixels(), fb.with_pixels()
    ev = _points_evidence(fa, fb, best.m3, best.ia, best.ib)
    if ev is None:
        # The pixels are compared on A's grid: a blurred, shrunk copy under a box agreed
        # at 0.45 there and at 0.83 on the original's (corpus seed 5 #23).
        rev = _points_evidence(fb, fa, np.linalg.inv(best.m3), best.ib, best.ia)
        ev = _as_a_to_b(rev) if rev is not None else None
    return ev


def _points_evidence(fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray,
                     ia: np.ndarray, ib: np.ndarray) -> GeometricEvidence | None:
    """Found evidence of B from A along coinciding sources ``ia`` -> ``ib``, or None when
    the aligned pixels do not agree."""
    poly = _overlap_polygon(m3, fa.shape, fb.shape)
    photo = _photometric(fa, fb, m3)
    if photo.agreement < MIN_AGREEMENT:
        return None
    ev = GeometricEvidence(detector="points", shape_a=fa.orig_shape, shape_b=fb.orig_shape)
    ev.inliers = len(ia)
    ev.agreement, ev.content_tiles = photo.agreement, photo.content_tiles
    ev.spread = _spread(poly, fa.sources, fa.sources[ia])
    ev.score = _score(ev.inliers, ev.inliers, ev.spread, ev.agreement, ev.content_tiles)
    ev.points_a, ev.points_b = _to_original(fa, fa.sources[ia]), _to_original(fb, fb.sources[ib])
    ev.found = True
    _describe(ev, fa, fb, m3, poly, photo)
    return ev


def _aperture(fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray, inverted: bool) -> float:
    """:func:`shared_structure` of A and B warped onto it, over their overlap (text left out)."""
    warped, valid, text_b = _warp_onto(fa, fb, m3, fb.gray)
    keep = valid & (fa.text == 0) & ~text_b
    blur = [cv2.GaussianBlur(g, (0, 0), 1.5) for g in (fa.gray, warped)]
    return shared_structure(blur[0], blur[1], keep, -1.0 if inverted else 1.0)


# Where both aligned pictures hold text, a copy's labels agree: aligned label pixels
# correlate at 0.84 or more in every derived pair that a keypoint fit without the keypoint
# case found on the validation split. Box diagrams whose class names share a prefix
# ("cv::...") were aligned through that prefix, then agreed on their box borders, at 0.22
# (test split, session 7). Not applied to the dense path: a thumbnail fit is a working
# pixel or two off, which thin strokes do not forgive (a validation crop's labels: 0.51).
TEXT_MIN_CORRELATION = 0.6


def _text_agrees(fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray) -> bool:
    """False when the fit puts different text on top of each other (see above)."""
    tc = _text_correlation(fa.with_pixels(), fb.with_pixels(), m3)
    return tc is None or tc >= TEXT_MIN_CORRELATION


def _text_correlation(fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray) -> float | None:
    """|Correlation| of the aligned pixels where both pictures hold text (None: too little)."""
    warped, valid, text_b = _warp_onto(fa, fb, m3, fb.gray)
    both = (fa.text > 0) & text_b & valid
    if int(both.sum()) < 200:
        return None
    x = cv2.GaussianBlur(fa.gray, (0, 0), 1.0)[both].astype(np.float64)
    y = cv2.GaussianBlur(warped, (0, 0), 1.0)[both].astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return abs(float((x * y).sum()) / den) if den > 1e-6 else None


def _describe(
    ev: GeometricEvidence, fa: ImageFeatures, fb: ImageFeatures, m3: np.ndarray, poly: np.ndarray,
    photo: _Photometric,
) -> None:
    """Fill the transform fields of a found pair (original pixels) from the working fit."""
    sa = G.scaling_about_edges(*fa.factor)
    sb = G.scaling_about_edges(*fb.factor)
    _set_transform(ev, np.linalg.inv(sb) @ m3 @ sa)
    poly_o = G.apply_matrix(np.linalg.inv(sa), poly) if len(poly) else poly
    area = float(cv2.contourArea(poly_o.astype(np.float32))) if len(poly_o) >= 3 else 0.0
    ev.overlap_fraction = round(min(1.0, area / float(fa.orig_shape[0] * fa.orig_shape[1])), 4)
    ev.grayscale = photo.grayscale
    ev.inverted = photo.inverted
    ev.contrast = round(photo.contrast, 4)
    ev.brightness = round(photo.brightness, 3)


def _set_transform(ev: GeometricEvidence, m: np.ndarray) -> None:
    """The geometric fields from an A -> B matrix in original pixels (``ev``'s shapes)."""
    rot, mirrored, scale = G.decompose(m)
    if abs(rot - round(rot)) < 0.05:  # report exact right angles cleanly
        rot = float(round(rot)) % 360.0
    ev.rotation_deg = round(float(rot), 3)
    ev.mirrored = bool(mirrored)
    ev.scale = round(float(scale), 5)
    ev.crop_box_a = [round(float(v), 2) for v in G.source_box(m, ev.shape_a, ev.shape_b)]
    ev.matrix = [[round(float(v), 6) for v in row] for row in m[:2]]


def verify_pair(
    a, b, *, max_side: int = 512, detector: str = "sift", suppress_text: bool = True, panels: bool = True,
) -> GeometricEvidence:
    """Local-feature verification that B was derived from A (see module docstring).

    ``a`` and ``b`` are paths, PIL images or uint8 arrays. ``found`` is conservative: it
    needs ``MIN_INLIERS`` inliers spread over the overlap *and* agreeing aligned pixels.
    With ``panels``, a pair that fails as a whole is tried again panel by panel when one
    side is a composite figure: a panel cut out of a figure fills only a corner of the
    figure's working resolution, too few keypoints to match it whole.
    """
    kw = dict(max_side=max_side, detector=detector, suppress_text=suppress_text)
    ia, ib = load_image(a), load_image(b)
    fa, fb = extract_features(ia, **kw), extract_features(ib, **kw)
    ev = verify_either_way(fa, fb)
    if panels and not ev.found:
        ev = _best_panel(ia, ib, fa, fb, ev, kw)
    return ev


def _best_panel(
    ia: np.ndarray, ib: np.ndarray, fa: ImageFeatures, fb: ImageFeatures, ev: GeometricEvidence, kw: dict,
) -> GeometricEvidence:
    """The best of ``ev`` and each panel of A against B and of A against each panel of B."""
    from dupscope.scan.panels import split_panels

    best = ev
    for side, big in (("a", ia), ("b", ib)):
        boxes = split_panels(big)
        for x0, y0, x1, y1 in boxes:
            crop = extract_features(np.ascontiguousarray(big[y0:y1, x0:x1]), **kw)
            e = verify_either_way(crop, fb) if side == "a" else verify_either_way(fa, crop)
            if (e.found, e.score) > (best.found, best.score):
                best = _embed_panel(e, side, (x0, y0), ia.shape[:2], ib.shape[:2])
    return best


def _embed_panel(ev: GeometricEvidence, side: str, offset: tuple[int, int], shape_a, shape_b) -> GeometricEvidence:
    """Evidence found on a panel, re-expressed in the whole image's pixels."""
    dx, dy = float(offset[0]), float(offset[1])
    t = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    panel_shape = ev.shape_a if side == "a" else ev.shape_b
    ev.shape_a, ev.shape_b = tuple(shape_a), tuple(shape_b)
    if side == "a":
        ev.points_a = ev.points_a + [dx, dy]
    else:
        ev.points_b = ev.points_b + [dx, dy]
    if ev.matrix is None:
        return ev
    m = ev.matrix3()
    _set_transform(ev, m @ np.linalg.inv(t) if side == "a" else t @ m)
    if side == "a" and ev.overlap_fraction is not None:
        share = panel_shape[0] * panel_shape[1] / float(shape_a[0] * shape_a[1])
        ev.overlap_fraction = round(ev.overlap_fraction * share, 4)
    return ev


def explain(a, b, **kwargs) -> dict[str, Any]:
    """The ``transform`` JSON object for a pair (``verify_pair(...).to_json()``)."""
    return verify_pair(a, b, **kwargs).to_json()


def _verify_paths(pair: tuple[Any, Any]) -> GeometricEvidence:
    return verify_pair(pair[0], pair[1])


def verify_pairs(pairs: Sequence[tuple[Any, Any]], workers: int = 2) -> list[GeometricEvidence]:
    """``verify_pair`` over many pairs (paths), in ``workers`` processes."""
    if workers <= 1 or len(pairs) < 16:
        return [_verify_paths(p) for p in pairs]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(_verify_paths, pairs, chunksize=8)
