"""Keypoint extraction shared by pair verification and copy-move detection.

Features are computed once per image (``extract_features``) so a corpus scan can cache
them and verify many pairs without re-detecting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import cv2
import numpy as np

from dupscope.evidence.dense import thumbnail
from dupscope.evidence.points import point_sources
from dupscope.evidence.textmask import text_mask
from dupscope.io import load_image

# SIFT upsamples its first octave 2x internally, so running it at 3/4 of the working
# size loses little detail and roughly halves the cost (the explain budget is 150 ms).
FEATURE_FRACTION = 0.75
MAX_KEYPOINTS = 1000
MIN_SIDE = 384  # small images are enlarged to this working size (more keypoints)

DETECTORS = ("sift", "orb", "akaze")
# A keypoint counts as text when text covers this share of the central part of its
# descriptor window (half-width 1.5x the keypoint size): a descriptor computed next to a
# label still encodes the label, so masking keypoint *centres* alone is not enough.
TEXT_COVERAGE = 0.2


def mask_coverage(mask: np.ndarray, pts: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Share of ``mask`` (nonzero) inside the square of half-width ``half`` around each point."""
    h, w = mask.shape[:2]
    ii = cv2.integral((mask > 0).astype(np.uint8)).astype(np.float64)
    hw = np.maximum(np.asarray(half, np.float64), 1.0)
    x0 = np.clip(np.rint(pts[:, 0] - hw).astype(int), 0, w)
    x1 = np.clip(np.rint(pts[:, 0] + hw).astype(int) + 1, 0, w)
    y0 = np.clip(np.rint(pts[:, 1] - hw).astype(int), 0, h)
    y1 = np.clip(np.rint(pts[:, 1] + hw).astype(int) + 1, 0, h)
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    s = ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]
    return s / area


@dataclass
class ImageFeatures:
    """One image at working resolution plus its keypoints.

    ``points`` are pixel-centre (x, y) coordinates in the *working* image; ``factor`` maps
    original pixels to working pixels (working = (orig + 0.5) * factor - 0.5).
    """

    rgb: np.ndarray  # working-size RGB uint8
    gray: np.ndarray  # working-size gray uint8
    orig_shape: tuple[int, int]
    factor: tuple[float, float]  # (fx, fy) original -> working
    points: np.ndarray  # (N, 2) float32, working coordinates
    sizes: np.ndarray  # (N,) keypoint diameters, working pixels
    descriptors: np.ndarray  # (N, D) float32 (SIFT) or uint8 (binary)
    text: np.ndarray  # working-size uint8 text mask (255 = text)
    detector: str
    # Keypoints on text: they may help *align* a pair but never count as evidence.
    on_text: np.ndarray | None = None
    # Distance from each descriptor to its nearest *other* descriptor in the same image:
    # a keypoint with a near twin (repeated glyph, tick, periodic pattern) is ambiguous.
    twin_dist: np.ndarray | None = None
    # Gray thumbnail (long side ``dense.THUMB``) for the dense alignment fallback; kept
    # when packed, so a scan can align pairs without their working pixels.
    thumb: np.ndarray | None = None
    # Isolated point sources (stars, spots), working coordinates, strongest first: see
    # :mod:`dupscope.evidence.points`. Kept when packed (a few KB).
    sources: np.ndarray | None = None

    # Set on a copy without pixels (:meth:`packed`): the working size, and how to get
    # the pixels back when a pair gets as far as comparing them.
    work_shape: tuple[int, int] | None = None
    restore: Callable[[], "ImageFeatures"] | None = field(default=None, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.gray.shape[:2] if self.gray is not None else self.work_shape

    @property
    def has_pixels(self) -> bool:
        return self.gray is not None

    def packed(self, restore: Callable[[], "ImageFeatures"]) -> "ImageFeatures":
        """Keypoints only, SIFT descriptors as bytes (exact: SIFT's values are whole numbers
        0-255): a tenth or less of the memory (0.1 MB instead of 1 MB for a panel with 700
        keypoints), so a scan can keep every image's keypoints while most pairs are
        rejected before anyone looks at pixels."""
        desc = self.descriptors
        if self.detector == "sift":
            desc = desc.astype(np.uint8)
        return replace(self, rgb=None, gray=None, text=None, descriptors=desc,
                       work_shape=self.shape, restore=restore)

    def unpacked(self) -> "ImageFeatures":
        """Ready for matching (float SIFT descriptors); pixels still come from ``restore``."""
        if self.detector == "sift" and self.descriptors.dtype == np.uint8:
            return replace(self, descriptors=self.descriptors.astype(np.float32))
        return self

    def with_pixels(self) -> "ImageFeatures":
        if self.has_pixels:
            return self
        if self.restore is None:
            raise ValueError("features were packed without a way to restore their pixels")
        return self.restore()

    @property
    def nbytes(self) -> int:
        arrays = (self.rgb, self.gray, self.text, self.points, self.sizes, self.descriptors,
                  self.on_text, self.twin_dist, self.thumb, self.sources)
        return sum(a.nbytes for a in arrays if a is not None)

    @property
    def binary(self) -> bool:
        return self.descriptors.dtype == np.uint8


def _resize_to(img: np.ndarray, max_side: int, min_side: int = 0) -> np.ndarray:
    """Shrink so the longer side is ``max_side``; enlarge (bicubic) up to ``min_side``."""
    h, w = img.shape[:2]
    s = max_side / max(h, w)
    if s >= 1.0:
        if not min_side or max(h, w) >= min_side:
            return np.ascontiguousarray(img)
        s = min_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def stretch(gray: np.ndarray, lo: float = 0.5, hi: float = 99.5) -> np.ndarray:
    """Percentile contrast stretch for detection only.

    Dark fluorescence and sky frames have all their structure in a few grey levels, below
    SIFT's absolute contrast threshold; stretching makes detection independent of the
    exposure (and of an editor's contrast change) without touching the pixels compared
    later.
    """
    a, b = np.percentile(gray[::2, ::2], (lo, hi))
    if b - a < 2.0:
        return gray
    out = (gray.astype(np.float32) - a) * (255.0 / (b - a))
    return np.clip(out, 0, 255).astype(np.uint8)


def _detector(name: str, n: int, contrast_threshold: float = 0.04):
    if name == "sift":
        return cv2.SIFT_create(nfeatures=n, contrastThreshold=contrast_threshold)
    if name == "orb":
        return cv2.ORB_create(nfeatures=n, fastThreshold=10)
    if name == "akaze":
        if not hasattr(cv2, "AKAZE_create"):
            raise ValueError("this OpenCV build has no AKAZE; use detector='sift' or 'orb'")
        return cv2.AKAZE_create()
    raise ValueError(f"unknown detector {name!r}; choose one of {DETECTORS}")


def working_pixels(
    img: np.ndarray, *, max_side: int = 512, min_side: int = MIN_SIDE, suppress_text: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, gray, text mask) at the working size: the pixels of :class:`ImageFeatures`."""
    rgb = _resize_to(img, max_side, min_side)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    tmask = text_mask(gray) if suppress_text else np.zeros_like(gray)
    return rgb, gray, tmask


def extract_features(
    img,
    *,
    max_side: int = 512,
    detector: str = "sift",
    suppress_text: bool = True,
    max_keypoints: int = MAX_KEYPOINTS,
    feature_fraction: float = FEATURE_FRACTION,
    contrast_threshold: float = 0.04,
    min_side: int = MIN_SIDE,
    stretch_contrast: bool = True,
) -> ImageFeatures:
    """Load ``img`` (path, PIL or array), shrink to ``max_side`` and detect keypoints.

    Images smaller than ``min_side`` are enlarged first, and detection sees a
    contrast-stretched copy (see :func:`stretch`) unless ``stretch_contrast`` is False.

    With ``suppress_text`` keypoints on detected text rows are flagged in ``on_text``
    (see :mod:`dupscope.evidence.textmask`).
    """
    orig = load_image(img)
    oh, ow = orig.shape[:2]
    rgb, gray, tmask = working_pixels(orig, max_side=max_side, min_side=min_side, suppress_text=suppress_text)
    h, w = rgb.shape[:2]
    factor = (w / ow, h / oh)
    pts, sizes, desc, _ = detect(
        stretch(gray) if stretch_contrast else gray, detector, max_keypoints, None,
        feature_fraction=feature_fraction, contrast_threshold=contrast_threshold,
    )
    return ImageFeatures(
        rgb=rgb, gray=gray, orig_shape=(oh, ow), factor=factor, points=pts, sizes=sizes,
        descriptors=desc, text=tmask, detector=detector,
        on_text=text_flags(tmask, pts, sizes), twin_dist=twin_distances(desc, pts),
        thumb=thumbnail(gray), sources=point_sources(gray, tmask),
    )


def text_flags(tmask: np.ndarray, pts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """True for keypoints whose descriptor window is mostly text."""
    if len(pts) == 0 or not tmask.any():
        return np.zeros(len(pts), bool)
    return mask_coverage(tmask, pts, 1.5 * sizes) >= TEXT_COVERAGE


def norm_type(desc: np.ndarray) -> int:
    return cv2.NORM_HAMMING if desc.dtype == np.uint8 else cv2.NORM_L2


def twin_distances(desc: np.ndarray, pts: np.ndarray, min_sep: float = 3.0) -> np.ndarray:
    """Distance of each descriptor to its nearest descriptor elsewhere (> ``min_sep``
    pixels away; SIFT emits several orientations at one location) in the same image."""
    n = len(desc)
    out = np.full((n,), np.inf, np.float32)
    if n < 2:
        return out
    knn = cv2.BFMatcher(norm_type(desc)).knnMatch(desc, desc, k=min(n, 4))
    for i, ms in enumerate(knn):
        for m in ms:
            j = m.trainIdx
            if j != i and abs(pts[j, 0] - pts[i, 0]) + abs(pts[j, 1] - pts[i, 1]) > min_sep:
                out[i] = m.distance
                break
    return out


def detect(
    gray: np.ndarray, detector: str, max_keypoints: int = MAX_KEYPOINTS,
    mask: np.ndarray | None = None,
    *,
    feature_fraction: float = FEATURE_FRACTION,
    contrast_threshold: float = 0.04,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Keypoints of a working-size gray image: (points, sizes, descriptors, n_dropped).

    Detection runs at ``FEATURE_FRACTION`` of the working size; points come back in
    working pixel-centre coordinates. Keypoints on ``mask`` (255) are dropped.
    """
    h, w = gray.shape[:2]
    fgray = _resize_to(gray, max(16, int(round(max(h, w) * feature_fraction))))
    ff = (fgray.shape[1] / w, fgray.shape[0] / h)
    kps, desc = _detector(detector, max_keypoints, contrast_threshold).detectAndCompute(fgray, None)
    if desc is None or len(kps) == 0:
        binary = detector != "sift"
        return (np.zeros((0, 2), np.float32), np.zeros((0,), np.float32),
                np.zeros((0, 61 if detector == "akaze" else (32 if binary else 128)),
                         np.uint8 if binary else np.float32), 0)
    pts = np.array([k.pt for k in kps], np.float32)
    if detector == "sift":
        # SIFT's 2x-upsampled first octave reports points a quarter pixel off the
        # pixel-centre convention; a bias that does not cancel under rotation.
        pts -= 0.25
    pts[:, 0] = (pts[:, 0] + 0.5) / ff[0] - 0.5
    pts[:, 1] = (pts[:, 1] + 0.5) / ff[1] - 0.5
    sizes = np.array([k.size for k in kps], np.float32) / ff[0]
    if desc.dtype != np.uint8:
        desc = desc.astype(np.float32)
    dropped = 0
    if mask is not None and len(pts) and mask.any():
        keep = mask_coverage(mask, pts, 1.5 * sizes) < TEXT_COVERAGE
        dropped = int((~keep).sum())
        pts, sizes, desc = pts[keep], sizes[keep], desc[keep]
    return pts, sizes, np.ascontiguousarray(desc), dropped


# --- descriptor variants --------------------------------------------------------------
# SIFT descriptors are 4x4 spatial cells x 8 orientation bins in the keypoint frame.
# Mirroring the image reverses the cell rows and negates the orientation bins; inverting
# intensities turns every gradient by 180 degrees, which rotates the frame so the cell
# grid is reversed in both directions. Permuting descriptors instead of re-detecting on a
# flipped or inverted copy keeps matching mirror- and inversion-aware at no extra
# detection cost (checked empirically: same match rate as re-detection).

_O = np.arange(8)


def _perm(mirror: bool, invert: bool) -> np.ndarray:
    idx = np.arange(128).reshape(4, 4, 8)
    if mirror:
        idx = idx[::-1][:, :, (8 - _O) % 8]
    if invert:
        idx = idx[::-1, ::-1]
    return idx.reshape(-1)


_PERMS = {(m, i): _perm(m, i) for m in (False, True) for i in (False, True)}


def sift_variant(desc: np.ndarray, mirror: bool, invert: bool) -> np.ndarray:
    """Descriptors the same keypoints would have in the mirrored and/or inverted image."""
    if desc.shape[1] != 128 or desc.dtype == np.uint8:
        raise ValueError("descriptor permutation is defined for SIFT descriptors only")
    return np.ascontiguousarray(desc[:, _PERMS[(mirror, invert)]])
