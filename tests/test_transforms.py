"""Tests for the transform catalogue: ops, geometry ground truth, determinism, crops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dupscope.transforms import (
    CATALOGUE,
    GROUPS,
    AppliedOp,
    Derivation,
    Op,
    apply_matrix,
    apply_op,
    derive_with,
    disjoint_crop_boxes,
    disjoint_crops,
    identity_geometry,
    overlapping_crops,
    random_derivation,
    sample_op,
)

H, W = 96, 128  # non-square so transposition mistakes show
MARK_XY = (int(0.4 * W), int(0.6 * H))  # asymmetric so flips are caught
GEOMETRIC_GROUPS = ["rotate90", "rotate_small", "mirror", "crop", "resize"]


def smooth_image(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """Low-frequency colour texture (realistic for JPEG / blur checks)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        fx, fy, ph = rng.uniform(0.02, 0.08, 2).tolist() + [rng.uniform(0, 6)]
        chans.append(127 + 100 * np.sin(fx * xx + ph) * np.cos(fy * yy))
    return np.ascontiguousarray(np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8))


def id_image(h: int = H, w: int = W) -> np.ndarray:
    """Every pixel a unique colour encoding its index: pixel-exact tracking."""
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    return np.ascontiguousarray(
        np.stack([idx % 256, (idx // 256) % 256, idx // 65536], -1).astype(np.uint8)
    )


def decode_ids(img: np.ndarray) -> np.ndarray:
    i = img.astype(np.int64)
    return i[..., 0] + 256 * i[..., 1] + 65536 * i[..., 2]


def marker_image() -> np.ndarray:
    """Dark greyish noise with one 7x7 pure red square centred on MARK_XY."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 80, (H, W, 3), dtype=np.uint8)
    x, y = MARK_XY
    img[y - 3:y + 4, x - 3:x + 4] = (255, 0, 0)
    return img


def find_marker(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float64)
    score = f[..., 0] - (f[..., 1] + f[..., 2]) / 2 - 100
    wgt = np.clip(score, 0, None)
    assert wgt.sum() > 0, "marker lost"
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    return np.array([(wgt * xs).sum(), (wgt * ys).sum()]) / wgt.sum()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# --------------------------------------------------------------------------- catalogue


def test_catalogue_structure():
    assert set(GROUPS) >= {"rotate90", "rotate_small", "mirror", "grayscale", "photometric",
                           "crop", "resize", "blur", "noise", "jpeg", "overlay", "combo", "copy"}
    groups_with_ops = {op.group for op in CATALOGUE.values()}
    assert groups_with_ops == set(GROUPS) - {"combo"}
    for name, op in CATALOGUE.items():
        assert isinstance(op, Op) and op.name == name and op.doc
        assert op.geometric == (op.group in GEOMETRIC_GROUPS)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_op_pure_uint8_json_params(name):
    img = smooth_image()
    before = img.copy()
    for seed in range(5):
        params = sample_op(name, np.random.default_rng(seed), img.shape)
        assert json.loads(json.dumps(params)) == params
        out = apply_op(img, name, params)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert out.flags.c_contiguous
        assert np.array_equal(img, before), "op modified its input"
        assert np.array_equal(out, apply_op(img, name, params)), "op not deterministic"
        if name != "identity":
            assert out.shape != img.shape or not np.array_equal(out, img), (name, params)


# ------------------------------------------------------------------- individual op claims


def test_rot90_composition_and_mirror_involution():
    img = id_image()
    r1 = apply_op(img, "rot90", {"k": 1})
    assert r1.shape == (W, H, 3)
    assert np.array_equal(apply_op(r1, "rot90", {"k": 1}), apply_op(img, "rot90", {"k": 2}))
    assert np.array_equal(apply_op(apply_op(img, "rot90", {"k": 3}), "rot90", {"k": 1}), img)
    # CCW as displayed: the top-right corner lands top-left.
    assert np.array_equal(r1[0, 0], img[0, W - 1])
    for axis in ("h", "v", "transpose", "antitranspose"):
        m = apply_op(img, "mirror", {"axis": axis})
        assert np.array_equal(apply_op(m, "mirror", {"axis": axis}), img), axis
    assert np.array_equal(apply_op(img, "mirror", {"axis": "h"}), img[:, ::-1])
    assert np.array_equal(apply_op(img, "mirror", {"axis": "transpose"}), img.transpose(1, 0, 2))
    anti = apply_op(img, "mirror", {"axis": "antitranspose"})
    assert np.array_equal(anti, np.rot90(img.transpose(1, 0, 2), 2))


def test_photometric_ops():
    img = smooth_image()
    g = apply_op(img, "grayscale", {})
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    assert np.array_equal(apply_op(apply_op(img, "invert", {}), "invert", {}), img)
    assert np.array_equal(apply_op(img, "invert", {}), 255 - img)
    assert np.array_equal(apply_op(img, "contrast", {"alpha": 1.0, "beta": 0.0}), img)
    assert np.array_equal(apply_op(img, "gamma", {"gamma": 1.0}), img)
    assert apply_op(img, "gamma", {"gamma": 0.5}).mean() > img.mean() + 10
    assert apply_op(img, "contrast", {"alpha": 1.0, "beta": 30.0}).mean() > img.mean() + 20
    assert apply_op(img, "contrast", {"alpha": 1.5, "beta": 0.0}).std() > img.std()


def test_jpeg_blur_noise():
    img = smooth_image()
    q20 = apply_op(img, "jpeg", {"quality": 20})
    assert not np.array_equal(q20, img)
    assert 20 < psnr(q20, img) < psnr(apply_op(img, "jpeg", {"quality": 95}), img)
    noisy = apply_op(img, "noise", {"sigma": 10.0, "seed": 3})
    resid = noisy.astype(float) - img.astype(float)
    assert 8 < resid.std() < 12 and abs(resid.mean()) < 1.5
    blurred = apply_op(noisy, "blur", {"sigma": 2.0})
    assert np.abs(np.diff(blurred.astype(float), axis=1)).mean() < 0.5 * np.abs(
        np.diff(noisy.astype(float), axis=1)).mean()


def test_crop_and_resize_samplers_respect_ranges():
    for seed in range(200):
        rng = np.random.default_rng(seed)
        h, w = int(rng.integers(20, 400)), int(rng.integers(20, 400))
        p = sample_op("crop", rng, (h, w))
        assert 0 <= p["x0"] <= 0.3 * w and 0 <= w - p["x1"] <= 0.3 * w
        assert 0 <= p["y0"] <= 0.3 * h and 0 <= h - p["y1"] <= 0.3 * h
        assert p["x1"] - p["x0"] >= 16 and p["y1"] - p["y0"] >= 16
        r = sample_op("resize", rng, (h, w))
        assert 0.3 <= r["sx"] <= 2.0 and 0.3 <= r["sy"] <= 2.0
        a = sample_op("rotate_small", rng, (h, w))
        assert 1.0 <= abs(a["angle"]) <= 20.0 and a["fill"] in ("white", "black", "edge")
        assert 20 <= sample_op("jpeg", rng, (h, w))["quality"] <= 95
    img = smooth_image()
    out = apply_op(img, "crop", {"x0": 5, "y0": 7, "x1": 100, "y1": 90})
    assert np.array_equal(out, img[7:90, 5:100])
    for sx, sy in [(0.3, 0.5), (2.0, 1.3), (0.77, 1.9)]:
        assert apply_op(img, "resize", {"sx": sx, "sy": sy}).shape == (round(H * sy), round(W * sx), 3)


def test_rotate_small_fill_and_expand():
    img = np.full((H, W, 3), 100, np.uint8)
    out = apply_op(img, "rotate_small", {"angle": 15.0, "expand": True, "fill": "white"})
    assert out.shape[0] > H and out.shape[1] > W
    assert (out[0, 0] == 255).all() and (out[out.shape[0] // 2, out.shape[1] // 2] == 100).all()
    same = apply_op(img, "rotate_small", {"angle": -15.0, "expand": False, "fill": "edge"})
    assert same.shape == img.shape and (same == 100).all()


def test_overlays_are_local_and_visible():
    img = np.full((H, W, 3), 60, np.uint8)
    for name in ("text", "scale_bar", "arrow", "box"):
        for seed in range(5):
            p = sample_op(name, np.random.default_rng(seed), img.shape)
            out = apply_op(img, name, p)
            changed = (out != img).any(-1).mean()
            assert 0 < changed < 0.5, (name, p, changed)
    bar = apply_op(img, "scale_bar", {"x": 80, "y": 80, "length": 30, "height": 4,
                                      "color": [255, 255, 255], "label": "10 µm", "font_size": 12})
    assert (bar[80:84, 80:110] == 255).all()
    assert (bar[60:79, 80:110] != 60).any()  # label drawn above the bar


# ---------------------------------------------------------------------- geometry (matrix)

SINGLE_GEOMETRIC = [
    ("rot90", {"k": 1}), ("rot90", {"k": 2}), ("rot90", {"k": 3}),
    ("mirror", {"axis": "h"}), ("mirror", {"axis": "v"}),
    ("mirror", {"axis": "transpose"}), ("mirror", {"axis": "antitranspose"}),
    ("crop", {"x0": 10, "y0": 5, "x1": 120, "y1": 80}),
    ("resize", {"sx": 0.3, "sy": 0.45}), ("resize", {"sx": 1.7, "sy": 2.0}),
    ("rotate_small", {"angle": 12.0, "expand": True, "fill": "white"}),
    ("rotate_small", {"angle": -7.5, "expand": False, "fill": "edge"}),
    ("rotate_small", {"angle": 20.0, "expand": True, "fill": "black"}),
]

COMBOS = [
    [("mirror", {"axis": "h"}), ("rot90", {"k": 1})],
    [("rot90", {"k": 3}), ("crop", {"x0": 20, "y0": 10, "x1": 90, "y1": 110}),
     ("resize", {"sx": 1.5, "sy": 0.8})],
    [("rotate_small", {"angle": -18.0, "expand": True, "fill": "white"}),
     ("mirror", {"axis": "antitranspose"}), ("resize", {"sx": 0.6, "sy": 0.6}),
     ("jpeg", {"quality": 80})],
    [("crop", {"x0": 25, "y0": 20, "x1": 110, "y1": 90}),
     ("rotate_small", {"angle": 9.0, "expand": False, "fill": "black"}),
     ("mirror", {"axis": "v"})],
]


@pytest.mark.parametrize("ops", [[o] for o in SINGLE_GEOMETRIC] + COMBOS)
def test_matrix_tracks_planted_marker(ops):
    a = marker_image()
    d = derive_with(a, ops)
    pred = apply_matrix(d.matrix, np.array([MARK_XY], float))[0]
    found = find_marker(d.image)
    assert np.abs(pred - found).max() < 2.0, (ops, pred, found)


@pytest.mark.parametrize("ops", [[o] for o in SINGLE_GEOMETRIC[:8]] + [COMBOS[0]])
def test_matrix_is_pixel_exact_for_lossless_ops(ops):
    a = id_image()
    d = derive_with(a, ops)
    ids = decode_ids(d.image)
    ys, xs = np.mgrid[0:ids.shape[0], 0:ids.shape[1]]
    src = np.stack([ids % W, ids // W], -1).reshape(-1, 2).astype(float)
    mapped = apply_matrix(d.matrix, src)
    assert np.allclose(mapped, np.stack([xs, ys], -1).reshape(-1, 2), atol=1e-9)


def test_random_geometric_combos_track_marker():
    a = marker_image()
    for seed in range(12):
        d = random_derivation(a, np.random.default_rng(seed), n_ops=3, groups=GEOMETRIC_GROUPS)
        assert d.group == "combo" and len(d.ops) == 3
        pred = apply_matrix(d.matrix, np.array([MARK_XY], float))[0]
        assert np.abs(pred - find_marker(d.image)).max() < 2.0, d.to_json()


# ----------------------------------------------------------------------- ground truth


def _gt(ops, shape=(H, W)):
    return derive_with(np.zeros((*shape, 3), np.uint8), ops)


@pytest.mark.parametrize(
    "ops, rot, mirrored, scale",
    [
        ([], 0.0, False, 1.0),
        ([("rot90", {"k": 1})], 90.0, False, 1.0),
        ([("rot90", {"k": 3})], 270.0, False, 1.0),
        ([("mirror", {"axis": "h"})], 0.0, True, 1.0),
        ([("mirror", {"axis": "v"})], 180.0, True, 1.0),
        ([("mirror", {"axis": "transpose"})], 90.0, True, 1.0),
        ([("mirror", {"axis": "antitranspose"})], 270.0, True, 1.0),
        ([("mirror", {"axis": "h"}), ("rot90", {"k": 1})], 90.0, True, 1.0),
        ([("rot90", {"k": 1}), ("mirror", {"axis": "h"})], 270.0, True, 1.0),
        ([("mirror", {"axis": "h"}), ("mirror", {"axis": "v"})], 180.0, False, 1.0),
        ([("rotate_small", {"angle": 10.0})], 10.0, False, 1.0),
        ([("rotate_small", {"angle": -10.0})], 350.0, False, 1.0),
        ([("resize", {"sx": 0.5, "sy": 0.5})], 0.0, False, 0.5),
        ([("resize", {"sx": 2.0, "sy": 0.5})], 0.0, False, 1.0),
        ([("rotate_small", {"angle": 15.0}), ("resize", {"sx": 1.5, "sy": 0.75})], 15.0, False,
         None),
        ([("mirror", {"axis": "h"}), ("rotate_small", {"angle": 5.0}),
          ("resize", {"sx": 0.5, "sy": 0.5})], 5.0, True, None),
    ],
)
def test_rotation_mirror_scale_ground_truth(ops, rot, mirrored, scale):
    d = _gt(ops)
    assert min(abs(d.rotation_deg - rot), 360 - abs(d.rotation_deg - rot)) < 1e-6
    assert 0 <= d.rotation_deg < 360
    assert d.mirrored is mirrored
    if scale is None:
        # Axis scales applied after the rotation: geometric mean of the effective scales.
        sh, sw = d.image.shape[:2]
        pre = _gt(ops[:-1]).image.shape[:2]
        scale = float(np.sqrt(sh / pre[0] * sw / pre[1]))
    assert abs(d.scale - scale) < 1e-9


def test_crop_box_ground_truth():
    assert _gt([]).crop_box_a == [0, 0, W, H]
    assert _gt([("crop", {"x0": 10, "y0": 5, "x1": 120, "y1": 80})]).crop_box_a == [10, 5, 120, 80]
    # crop then enlarge: same region of A
    d = _gt([("crop", {"x0": 10, "y0": 5, "x1": 120, "y1": 80}), ("resize", {"sx": 2.0, "sy": 2.0})])
    assert d.crop_box_a == [10, 5, 120, 80] and abs(d.scale - 2.0) < 1e-9
    # enlarge then crop: region divided by the scale
    d = _gt([("resize", {"sx": 2.0, "sy": 2.0}), ("crop", {"x0": 20, "y0": 40, "x1": 200, "y1": 150})])
    assert np.allclose(d.crop_box_a, [10, 20, 100, 75])
    # rotate by 90 then crop: box rotated back into A's frame
    d = _gt([("rot90", {"k": 1}), ("crop", {"x0": 0, "y0": 0, "x1": 40, "y1": 50})])
    # B shows rot90(A)[0:50, 0:40] = A rows 0..39, columns W-50..W-1
    assert np.allclose(d.crop_box_a, [W - 50, 0, W, 40])
    img = id_image()
    b = derive_with(img, [("rot90", {"k": 1}), ("crop", {"x0": 0, "y0": 0, "x1": 40, "y1": 50})]).image
    ids = decode_ids(b)
    assert (ids % W).min() == W - 50 and (ids // W).max() == 39
    # expanded rotation shows all of A; unexpanded rotation loses nothing inside the box
    assert _gt([("rotate_small", {"angle": 10.0, "expand": True})]).crop_box_a == [0, 0, W, H]
    # flags
    d = _gt([("grayscale", {}), ("invert", {}), ("jpeg", {"quality": 50})])
    assert d.grayscale and d.inverted and d.group == "combo"
    assert not _gt([("invert", {}), ("invert", {})]).inverted


def test_identity_and_json_roundtrip():
    rec = identity_geometry((H, W))
    assert isinstance(rec, Derivation) and rec.group == "copy" and rec.ops == []
    assert np.array_equal(rec.matrix, np.eye(3)) and rec.crop_box_a == [0, 0, W, H]
    img = smooth_image()
    d = random_derivation(img, np.random.default_rng(5), n_ops=4)
    js = json.loads(json.dumps(d.to_json()))
    assert set(js) >= {"group", "ops", "matrix", "rotation_deg", "mirrored", "scale",
                       "crop_box_a", "grayscale", "inverted"}
    replay = derive_with(img, js["ops"])
    assert np.array_equal(replay.image, d.image) and np.allclose(replay.matrix, d.matrix)
    replay2 = derive_with(img, [(o.name, o.params) for o in d.ops])
    assert np.array_equal(replay2.image, d.image)
    assert all(isinstance(o, AppliedOp) for o in d.ops)


# ------------------------------------------------------------------ random derivations


def test_determinism_same_seed_byte_identical():
    img = smooth_image()
    for seed in range(10):
        d1 = random_derivation(img, np.random.default_rng(seed))
        d2 = random_derivation(img, np.random.default_rng(seed))
        assert d1.image.tobytes() == d2.image.tobytes()
        assert d1.to_json() == d2.to_json()
    outs = {random_derivation(img, np.random.default_rng(s)).image.tobytes() for s in range(10)}
    assert len(outs) > 5


def test_random_derivation_counts_groups_and_sizes():
    img = smooth_image()
    small = smooth_image(24, 40)
    n_single = 0
    for seed in range(120):
        rng = np.random.default_rng(seed)
        src = small if seed % 3 == 0 else img
        d = random_derivation(src, rng)
        h, w = d.image.shape[:2]
        assert min(h, w) >= 16 and max(h, w) <= 2 * max(src.shape[:2]), d.to_json()
        assert 1 <= len(d.ops) <= 4
        if len(d.ops) == 1:
            n_single += 1
            assert d.group == d.ops[0].group
        else:
            assert d.group == "combo"
            assert len({o.group for o in d.ops}) == len(d.ops)
    assert 35 <= n_single <= 85
    for seed in range(20):
        d = random_derivation(img, np.random.default_rng(seed), groups=["mirror", "jpeg"])
        assert {o.group for o in d.ops} <= {"mirror", "jpeg"}
        d = random_derivation(img, np.random.default_rng(seed), groups=["combo"])
        assert d.group == "combo" and 2 <= len(d.ops) <= 4
        d = random_derivation(img, np.random.default_rng(seed), groups=["overlay"])
        assert d.group == "overlay"
    copy = random_derivation(img, np.random.default_rng(0), groups=["copy"])
    assert copy.group == "copy" and np.array_equal(copy.image, img)


# ------------------------------------------------------------------------ partial reuse


def test_overlapping_crops_overlap():
    img = id_image(120, 160)
    for seed in range(30):
        a, b, ov = overlapping_crops(img, np.random.default_rng(seed), min_overlap=0.5)
        assert ov >= 0.5 and min(a.shape[:2]) >= 16 and min(b.shape[:2]) >= 16
        shared = np.intersect1d(decode_ids(a).ravel(), decode_ids(b).ravel()).size
        assert abs(shared / min(a.shape[0] * a.shape[1], b.shape[0] * b.shape[1]) - ov) < 1e-9


def test_disjoint_crops_truly_disjoint():
    img = id_image(120, 160)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        a, b = disjoint_crops(img, rng, min_frac=0.35)
        assert np.intersect1d(decode_ids(a).ravel(), decode_ids(b).ravel()).size == 0
        ok_a = a.shape[0] >= 0.35 * 120 or a.shape[1] >= 0.35 * 160
        ok_b = b.shape[0] >= 0.35 * 120 or b.shape[1] >= 0.35 * 160
        assert ok_a and ok_b and min(a.shape[:2] + b.shape[:2]) >= 16
    ba, bb = disjoint_crop_boxes((120, 160), np.random.default_rng(0))
    assert ba[2] <= bb[0] or bb[2] <= ba[0] or ba[3] <= bb[1] or bb[3] <= ba[1]
    with pytest.raises(ValueError):
        disjoint_crops(np.zeros((20, 20, 3), np.uint8), np.random.default_rng(0))
