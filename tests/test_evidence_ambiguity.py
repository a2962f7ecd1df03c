"""Alignments the pixels cannot pin down, or that put different text on top of each other,
are not evidence of a copy (false positives of session 6 on the test split)."""

from __future__ import annotations

import cv2
import numpy as np

from dupscope.evidence.verify import shared_structure, verify_pair
from dupscope.generators import siblings


def _diagram(names: list[str], width: int = 300) -> np.ndarray:
    """A class diagram cropped inside its boxes: horizontal borders and one name per box."""
    img = np.full((40 * len(names) + 20, width, 3), 255, np.uint8)
    for i, name in enumerate(names):
        y0 = 10 + 40 * i
        cv2.rectangle(img, (-5, y0), (width + 5, y0 + 28), (230, 235, 245), -1)
        cv2.line(img, (0, y0), (width, y0), (60, 80, 160), 1)
        cv2.line(img, (0, y0 + 28), (width, y0 + 28), (60, 80, 160), 1)
        cv2.putText(img, name, (12, y0 + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def test_shared_structure_tells_parallel_lines_from_texture():
    rng = np.random.default_rng(3)
    rows = np.repeat(rng.integers(0, 255, size=(96, 1)), 128, axis=1).astype(np.uint8)
    lines = cv2.GaussianBlur(rows, (0, 0), 1.5)
    keep = np.ones(lines.shape, bool)
    assert shared_structure(lines, lines, keep) < 0.01
    texture = cv2.GaussianBlur(rng.integers(0, 255, size=(96, 128)).astype(np.uint8), (0, 0), 1.5)
    assert shared_structure(texture, texture, keep) > 0.5
    # An inverted copy shares the same structure with the sign turned round.
    assert shared_structure(texture, 255 - texture, keep, sign=-1.0) > 0.5
    assert shared_structure(texture, 255 - texture, keep) == 0.0
    # Unrelated textures share none.
    other = cv2.GaussianBlur(rng.integers(0, 255, size=(96, 128)).astype(np.uint8), (0, 0), 1.5)
    assert shared_structure(texture, other, keep) < 0.2


def test_boxes_with_different_names_are_not_a_copy():
    """Class names sharing a prefix gave the fit its text inliers; the box borders then
    agreed everywhere. The labels under the fit differ, so it is no copy, in either order."""
    a = _diagram(["cv::detail::tracking::contrib", "cv::detail::tracking::feature", "cv::detail::tracking::base"])
    b = _diagram(["cv::CvFeatureParams", "cv::CvHaarFeatureParams", "cv::CvLBPFeatureParams"])[:, ::-1].copy()
    assert not verify_pair(a, b).found
    assert not verify_pair(b, a).found
    # The same diagram mirrored keeps its labels on top of each other: a copy.
    ev = verify_pair(a, a[:, ::-1].copy())
    assert ev.found and ev.mirrored


def test_a_blurred_copy_of_a_textured_field_still_passes_the_checks():
    """The dense path's new checks leave a real degraded copy alone."""
    rng = np.random.default_rng(7)
    a, _ = siblings("histology", rng, n=2, size=(224, 224))
    b = cv2.GaussianBlur(np.ascontiguousarray(np.rot90(a, 1)), (0, 0), 3.0)
    ev = verify_pair(a, b)
    assert ev.found and ev.detector == "dense"
    assert min(abs(ev.rotation_deg - r) for r in (90.0, 270.0)) < 1.0
