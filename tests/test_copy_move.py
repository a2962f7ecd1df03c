"""Copy-move within one image: a planted duplicate is found, a clean image is not."""

from __future__ import annotations

import json

import cv2
import numpy as np

from dupscope.evidence import CopyMoveResult, detect_copy_move, visualize_copy_move


def blot_like(seed: int, size: int = 256) -> np.ndarray:
    """Cells/blobs on a grainy background: natural repetition of similar structures."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 30.0, np.float32)
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(10, size - 10, 2))
        cv2.ellipse(img, (x, y), (int(rng.integers(5, 14)), int(rng.integers(4, 10))),
                    float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(120, 230)), -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 8, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))


def test_planted_copy_move_found(tmp_path):
    img = blot_like(3)
    out = img.copy()
    out[150:230, 140:230] = img[20:100, 20:110]  # paste a 90x80 region elsewhere
    res = detect_copy_move(out)
    assert isinstance(res, CopyMoveResult)
    assert res.found and res.score > 0.5
    r = res.regions[0]
    src, tgt = sorted([r.source_box, r.target_box])
    # Source and target lie in the two planted places (in either order)...
    assert 20 - 3 <= src[0] and src[2] <= 110 + 3 and 20 - 3 <= src[1] and src[3] <= 100 + 3
    assert 140 - 3 <= tgt[0] and tgt[2] <= 230 + 3 and 150 - 3 <= tgt[1] and tgt[3] <= 230 + 3
    # ...and the fitted move is the planted shift (120, 130), in one direction or the other.
    shift = np.abs(np.asarray(r.matrix)[:, 2])
    assert np.allclose(shift, [120, 130], atol=2)
    assert np.allclose(np.asarray(r.matrix)[:, :2], np.eye(2) * np.sign(r.matrix[0][0]), atol=0.03)
    assert len(res.pairs) >= r.inliers
    json.dumps(res.to_json())
    p = visualize_copy_move(out, res, tmp_path / "cm.png")
    assert cv2.imread(str(p)) is not None


def test_mirrored_paste_found():
    img = blot_like(6)
    out = img.copy()
    out[140:230, 150:240] = img[20:110, 20:110][:, ::-1]
    res = detect_copy_move(out)
    assert res.found and res.regions[0].mirrored


def test_clean_images_negative():
    hits = sum(detect_copy_move(blot_like(s)).found for s in range(10, 16))
    assert hits == 0
    rng = np.random.default_rng(1)
    assert not detect_copy_move(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)).found


def test_two_marker_lanes_of_one_gel_are_not_a_copy_move():
    """A gel with the ladder run in its first and last lanes (a generated figure, from the
    PDF of corpus seed 9): the lanes mirror each other band for band, but each has its
    own grain; the edges they share put the whole region's fine texture at 0.86."""
    from pathlib import Path

    img = cv2.cvtColor(cv2.imread(str(Path(__file__).parent / "data" / "gel_two_marker_lanes.png")), cv2.COLOR_BGR2RGB)
    assert not detect_copy_move(img).found
