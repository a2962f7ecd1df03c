"""Geometric evidence: recovered transforms, photometric flags, text suppression, fusion."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dupscope.evidence import (
    FusionModel,
    GeometricEvidence,
    explain,
    fit_fusion,
    verify_pair,
    visualize,
)
from dupscope.baselines.sift import sift_ransac_score


def scene(seed: int, size: int = 256) -> np.ndarray:
    """Colourful textured image with many distinct keypoints (shapes over smooth noise)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(0, 255, (size // 16, size // 16, 3)).astype(np.float32),
                      (size, size), interpolation=cv2.INTER_CUBIC)
    img = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(60):
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.ellipse(img, (x, y), (int(rng.integers(3, 20)), int(rng.integers(3, 20))),
                        float(rng.uniform(0, 180)), 0, 360, col, -1, cv2.LINE_AA)
        else:
            pts = rng.integers(-18, 18, (3, 2)) + [x, y]
            cv2.fillPoly(img, [pts.astype(np.int32)], col, cv2.LINE_AA)
    fine = rng.normal(0, 6, img.shape)
    return np.clip(img + fine, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def a() -> np.ndarray:
    return scene(1)


def iou(p, q) -> float:
    ix = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    iy = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = ix * iy
    return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)


def angle_err(x: float, y: float) -> float:
    return abs((x - y + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_right_angle_rotations(a, k):
    ev = verify_pair(a, np.rot90(a, k))
    assert ev.found
    assert ev.rotation_deg == pytest.approx(90.0 * k, abs=0.5)
    assert ev.mirrored is False
    assert ev.scale == pytest.approx(1.0, abs=0.02)


def test_small_rotation(a):
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 10.0, 1.0)
    b = cv2.warpAffine(a, m, (w, h), borderValue=(255, 255, 255))
    ev = verify_pair(a, b)
    assert ev.found
    assert angle_err(ev.rotation_deg, 10.0) < 1.0
    assert ev.mirrored is False


def test_mirror_flags(a):
    ev = verify_pair(a, np.ascontiguousarray(a[:, ::-1]))
    assert ev.found and ev.mirrored is True
    assert angle_err(ev.rotation_deg, 0.0) < 0.5
    # Vertical mirror = horizontal mirror + 180 degrees.
    ev = verify_pair(a, np.ascontiguousarray(a[::-1]))
    assert ev.found and ev.mirrored is True
    assert angle_err(ev.rotation_deg, 180.0) < 0.5


def test_half_resize_scale(a):
    b = cv2.resize(a, (128, 128), interpolation=cv2.INTER_AREA)
    ev = verify_pair(a, b)
    assert ev.found
    assert ev.scale == pytest.approx(0.5, rel=0.03)
    assert iou(ev.crop_box_a, [0, 0, 256, 256]) > 0.95


def test_crop_box(a):
    box = [40, 60, 200, 230]
    b = np.ascontiguousarray(a[box[1]:box[3], box[0]:box[2]])
    ev = verify_pair(a, b)
    assert ev.found
    assert iou(ev.crop_box_a, box) > 0.95
    assert ev.overlap_fraction == pytest.approx(160 * 170 / 256**2, rel=0.05)
    # The 2x3 matrix maps A's pixel (x, y) to B's pixel (x - 40, y - 60).
    m = np.asarray(ev.matrix)
    assert m @ [100.0, 100.0, 1.0] == pytest.approx([60.0, 40.0], abs=0.5)


def test_grayscale_and_inverted(a):
    g = cv2.cvtColor(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    ev = verify_pair(a, g)
    assert ev.found and ev.grayscale is True and ev.inverted is False
    ev = verify_pair(a, 255 - a)
    assert ev.found and ev.inverted is True and ev.grayscale is False
    ev = verify_pair(a, a)
    assert ev.grayscale is False and ev.inverted is False


def test_contrast_gain(a):
    b = np.clip(a.astype(np.float32) * 0.7 + 40, 0, 255).astype(np.uint8)
    ev = verify_pair(a, b)
    assert ev.found
    assert ev.contrast == pytest.approx(0.7, abs=0.05)
    assert ev.brightness == pytest.approx(40, abs=5)


def test_distinct_textures_do_not_match():
    ev = verify_pair(scene(11), scene(12))
    assert not ev.found
    assert ev.inliers < 10
    assert ev.rotation_deg is None and ev.matrix is None
    rng = np.random.default_rng(0)
    noise1 = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    noise2 = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    assert not verify_pair(noise1, noise2).found


def _plot(seed: int) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(3.2, 2.6), dpi=100)
    x = np.linspace(0, 10, 40)
    ax.plot(x, np.cumsum(rng.normal(0, 1, 40)), "o-", ms=3, label="treated")
    ax.plot(x, np.cumsum(rng.normal(0, 1, 40)), "s--", ms=3, label="control")
    ax.set_xlabel("Time after treatment (hours)")
    ax.set_ylabel("Relative expression")
    ax.set_title("Expression of GAPDH")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return img


def test_text_suppression_on_sibling_plots():
    p1, p2 = _plot(1), _plot(2)
    on = verify_pair(p1, p2)
    off = verify_pair(p1, p2, suppress_text=False)
    assert not on.found
    assert on.inliers < off.inliers  # the labels were what matched
    assert on.score < 0.3
    # A derived plot (cropped and shrunk) is still recognised with suppression on.
    h, w = p1.shape[:2]
    b = cv2.resize(p1[10:h - 5, 20:w - 10], None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    ev = verify_pair(p1, b)
    assert ev.found and ev.scale == pytest.approx(0.8, rel=0.05)


def test_json_and_explain(a, tmp_path):
    b = np.rot90(a[20:220, 30:230])
    d = explain(a, b)
    assert set(d) == set(GeometricEvidence.JSON_FIELDS)
    assert {"rotation_deg", "mirrored", "scale", "crop_box_a", "overlap_fraction", "grayscale",
            "contrast", "brightness", "inverted", "inliers", "matrix"} <= set(d)
    json.dumps(d)
    assert d["found"] and d["rotation_deg"] == pytest.approx(90, abs=0.5)
    out = visualize(a, b, verify_pair(a, b), tmp_path / "ev.png")
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 300
    visualize(a, scene(5), verify_pair(a, scene(5)), tmp_path / "none.png")
    assert (tmp_path / "none.png").stat().st_size > 0


def test_sift_baseline(a):
    assert sift_ransac_score(a, np.ascontiguousarray(a[:, ::-1])) > 0.5
    assert sift_ransac_score(scene(11), scene(12)) < 0.4


def _ev(inliers: int, found: bool, spread: float = 0.8, agreement: float = 0.9) -> GeometricEvidence:
    return GeometricEvidence(found=found, inliers=inliers, spread=spread, agreement=agreement)


def test_fusion_fit_is_monotone_and_serialisable():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    p = np.clip(rng.beta(2, 5, n) + 0.4 * y, 0.001, 0.999)
    evs = []
    for yi in y:
        k = int(rng.poisson(60 if yi else 3))
        evs.append(_ev(k, bool(yi and k >= 10), spread=float(rng.uniform(0.5, 1) if yi else rng.uniform(0, 0.4)),
                       agreement=float(rng.uniform(0.7, 1) if yi else rng.uniform(0, 0.6))))
    model = fit_fusion(p, evs, y)
    assert all(w >= 0 for w in model.weights)
    probs = model.predict_many(p, evs)
    assert ((probs > 0.5) == y).mean() > 0.9
    # Monotone in the network probability and in the inlier count.
    e = _ev(20, True)
    seq_p = [model.predict(q, e) for q in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert all(b >= a for a, b in zip(seq_p, seq_p[1:]))
    seq_n = [model.predict(0.5, _ev(k, k >= 10)) for k in (0, 5, 10, 50, 200)]
    assert all(b >= a for a, b in zip(seq_n, seq_n[1:]))
    assert seq_n[-1] > seq_n[0]
    d = json.loads(json.dumps(model.to_dict()))
    again = FusionModel.from_dict(d)
    assert again.predict(0.4, e) == pytest.approx(model.predict(0.4, e))


def test_panel_cut_from_composite_is_found_panel_by_panel():
    from dupscope.generators import generate

    rng = np.random.default_rng(6)  # a sky panel the whole-figure match misses
    tiles = [generate("starfield", rng, size=(180, 180))[0] for _ in range(4)]
    fig = np.full((2 * 180 + 30, 2 * 180 + 30, 3), 255, np.uint8)
    boxes = []
    for i, t in enumerate(tiles):
        y, x = 10 + (i // 2) * 190, 10 + (i % 2) * 190
        fig[y : y + 180, x : x + 180] = t[:180, :180]
        boxes.append((x, y, x + 180, y + 180))
    panel = cv2.resize(fig[boxes[3][1] : boxes[3][3], boxes[3][0] : boxes[3][2]], (320, 320), interpolation=cv2.INTER_CUBIC)
    assert not verify_pair(fig, panel, panels=False).found
    ev = verify_pair(fig, panel)
    assert ev.found and not ev.mirrored and abs(ev.rotation_deg % 360) < 1
    assert abs(ev.scale - 320 / 180) < 0.1
    x0, y0, x1, y1 = ev.crop_box_a
    assert abs(x0 - boxes[3][0]) < 6 and abs(y0 - boxes[3][1]) < 6 and abs(x1 - boxes[3][2]) < 6 and abs(y1 - boxes[3][3]) < 6
    assert 0.15 < ev.overlap_fraction < 0.25
    # The points are in the whole figure's pixels, inside the panel.
    assert (ev.points_a[:, 0] > boxes[3][0] - 2).all() and (ev.points_a[:, 1] > boxes[3][1] - 2).all()
    # Same in the other direction (the composite made from the panel).
    back = verify_pair(panel, fig)
    assert back.found and abs(back.scale - 180 / 320) < 0.06


def test_tile_agreement_accepts_contrast_saturated_tiles_but_not_other_data():
    """A contrast edit that pushes a faint texture into flat white still agrees; different data does not."""
    from dupscope.evidence.verify import tile_agreement

    rng = np.random.default_rng(0)
    a = np.full((128, 128), 232, np.float32)
    a[:, 64:] += np.clip(rng.normal(0, 10, (128, 64)), -25, 25)  # faint texture, right half
    a[:, :64] = cv2.GaussianBlur(rng.uniform(0, 255, (128, 64)).astype(np.float32), (0, 0), 2)
    a = np.clip(a, 0, 255).astype(np.uint8)
    b = np.clip(a.astype(np.float32) * 2.0 - 150, 0, 255)  # right half: flat white ...
    b = np.clip(b + rng.normal(0, 1.0, b.shape), 0, 255).astype(np.uint8)  # ... up to re-save noise
    keep = np.ones_like(a, bool)
    share, tiles = tile_agreement(a, b, keep)
    assert tiles >= 32 and share >= 0.95
    other = b.copy()  # same edit, but the left half holds different data
    fresh = cv2.GaussianBlur(rng.uniform(0, 255, (128, 64)).astype(np.float32), (0, 0), 2)
    other[:, :64] = np.clip(fresh * 2.0 - 150, 0, 255).astype(np.uint8)
    share_other, _ = tile_agreement(a, other, keep)
    assert share_other < 0.7


def test_a_near_miss_is_verified_the_other_way_round():
    """Which side is the original is what a scan does not know; the check is not symmetric.

    A fluorescence crop rotated 16.6 degrees with its corners filled from the edges passes
    as "derived from the original" and falls short (agreement < 0.7) as the reverse.
    """
    from dupscope.evidence import extract_features, verify_either_way, verify_features
    from dupscope.generators import generate
    from dupscope.transforms.derive import derive_with

    orig, _ = generate("fluorescence", np.random.default_rng(3), size=(224, 288))
    d = derive_with(orig, [("crop", {"x0": 11, "y0": 62, "x1": 208, "y1": 216}), ("jpeg", {"quality": 54}),
                           ("rotate_small", {"angle": 16.603, "expand": True, "fill": "edge"})])
    fo, fd = extract_features(orig), extract_features(d.image)
    assert verify_features(fo, fd).found and not verify_features(fd, fo).found
    ev = verify_either_way(fd, fo)  # A: the derived picture, B: its original
    assert ev.found and ev.derived == "a" and ev.to_json()["derived"] == "a"
    assert ev.shape_a == d.image.shape[:2] and ev.shape_b == orig.shape[:2]
    # The transform still maps A to B: the inverse of the derivation, within a pixel or two.
    pts = np.array([[20.0, 30.0], [150.0, 60.0], [90.0, 180.0]])
    want = cv2.perspectiveTransform(pts[None], np.linalg.inv(d.matrix))[0]
    got = cv2.perspectiveTransform(pts[None], ev.matrix3())[0]
    assert np.abs(got - want).max() < 3.0
    assert ev.rotation_deg == pytest.approx(360 - 16.603, abs=1.0)
    # The points drawn in the evidence picture lie in their own images.
    assert ev.points_a[:, 0].max() < d.image.shape[1] and ev.points_b[:, 0].max() < orig.shape[1]
    assert verify_either_way(fo, fd).derived == "b"


def test_the_other_way_round_must_do_better_on_content_keypoints(monkeypatch):
    """A reverse found only on the lenient gates, or agreeing worse, is not taken."""
    import dupscope.evidence.verify as V

    first = GeometricEvidence(found=False, inliers=9, spread=0.4, agreement=0.83)

    def fake(reverse: GeometricEvidence):
        calls = iter([first, reverse])
        monkeypatch.setattr(V, "verify_features", lambda fa, fb, ratio=V.RATIO: next(calls))
        return V.verify_either_way(None, None)

    labels_only = GeometricEvidence(found=True, inliers=7, spread=0.5, agreement=0.92)  # label-aligned gate
    assert fake(labels_only) is first
    worse = GeometricEvidence(found=True, inliers=10, spread=0.45, agreement=0.82)
    assert fake(worse) is first
    better = GeometricEvidence(found=True, inliers=10, spread=0.45, agreement=0.90)
    got = fake(better)
    assert got.found and got.derived == "a"
    # Far from an alignment the first way, the other way is not tried at all.
    seen = []
    monkeypatch.setattr(V, "verify_features", lambda fa, fb, ratio=V.RATIO: seen.append(fa) or GeometricEvidence(inliers=2))
    assert not V.verify_either_way("a", "b").found and seen == ["a"]


def test_sparse_picture_resized_in_one_direction_is_found():
    """A similarity fits only part of an aspect-changing resize of a sparse picture (7 of
    13 matches, the wrong ones): the affine is fitted to all matches as well. The pair is
    a generated star-field panel and its 1.07 x 1.38 copy, as extracted from a PDF of
    corpus seed 9 (event 20)."""
    from pathlib import Path

    from PIL import Image

    data = Path(__file__).parent / "data"
    a = np.array(Image.open(data / "starfield_panel.png").convert("RGB"))
    b = np.array(Image.open(data / "starfield_panel_resized.png").convert("RGB"))
    assert verify_pair(b, a).found
    ev = verify_pair(a, b)
    assert ev.found
    m = ev.matrix3()
    assert m[0, 0] == pytest.approx(273 / 256, rel=0.03) and m[1, 1] == pytest.approx(352 / 256, rel=0.03)


def test_sheared_fits_are_not_an_editors_geometry():
    from dupscope.evidence import verify as V
    from dupscope.transforms import geometry as G

    rot = G.rotation_about(12.0, 50, 50)
    aniso = np.diag([1.0, 1.35, 1.0])
    for m in (rot, aniso @ rot, rot @ aniso, aniso @ rot @ np.diag([-1.0, 1.0, 1.0])):
        assert G.skew(m) < 1e-9 and V._plausible(m)
    shear = np.array([[1.0, 0.31, 0.0], [-0.02, 1.09, 0.0], [0.0, 0.0, 1.0]])  # sibling blot strips' dense fit
    assert G.skew(shear) > 0.2 and not V._plausible(shear)
    # A dense fit is held closer (see test_evidence_dense): sibling blot strips aligned
    # with a skew of 0.011-0.041.
    slight = np.array([[1.0, 0.02, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert V._plausible(slight) and G.skew(slight) > V.DENSE_MAX_SKEW


def test_monotone_curve_keeps_the_order_of_levels():
    from dupscope.evidence.verify import monotone_curve

    levels = np.arange(4.0, 256.0, 8.0)
    counts = np.full(levels.shape, 100.0)
    gamma = 255.0 * (levels / 255.0) ** 0.6
    assert np.allclose(monotone_curve(gamma, counts), gamma)
    assert np.allclose(monotone_curve(255.0 - gamma, counts), 255.0 - gamma)  # an inversion
    shuffled = np.random.default_rng(0).permutation(gamma)  # levels sent anywhere: no edit does that
    fit = monotone_curve(shuffled, counts)
    assert np.all(np.diff(fit) >= 0) or np.all(np.diff(fit) <= 0)
    assert np.abs(fit - shuffled).mean() > 30


def _coolwarm_grid(seed: int, cell: int = 40) -> np.ndarray:
    """A correlation heatmap's cells: a diverging map whose two ends have nearly one grey level."""
    import matplotlib

    v = np.clip(np.random.default_rng(seed).normal(0, 0.5, (6, 6)), -1, 1)
    v = (v + v.T) / 2
    np.fill_diagonal(v, 1.0)
    rgb = (matplotlib.colormaps["coolwarm"]((v + 1) / 2)[..., :3] * 255).astype(np.uint8)
    return np.ascontiguousarray(np.kron(rgb, np.ones((cell, cell, 1), np.uint8)))


def test_colour_tiles_tell_heatmap_siblings_from_a_copy(monkeypatch):
    import io as _io

    from PIL import Image

    import dupscope.evidence.verify as V

    x, sibling = _coolwarm_grid(1), _coolwarm_grid(2)
    buf = _io.BytesIO()
    Image.fromarray(np.clip(255 * (x / 255.0) ** 0.8, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=40)
    copy = np.asarray(Image.open(buf).convert("RGB"))
    keep = np.ones(x.shape[:2], bool)
    blur = lambda img: cv2.GaussianBlur(img, (0, 0), 1.5)  # noqa: E731
    agree_copy, n = V._colour_agreement(blur(x), blur(copy), keep)
    assert agree_copy >= 0.97 and n >= 100  # gamma and JPEG: each channel still one rising curve
    assert V._colour_agreement(blur(x), blur(sibling), keep)[0] < 0.5
    # Without the monotone constraint a lookup sends each cell colour wherever the sibling has it.
    monkeypatch.setattr(V, "MONOTONE", False)
    assert V._colour_agreement(blur(x), blur(sibling), keep)[0] > 0.8
