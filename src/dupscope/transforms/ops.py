"""The catalogue of manual edits: each op is a pure ``fn(img, **params) -> img``.

Parameters are plain JSON values (ints, floats, strings, lists), so a derivation can be
stored and replayed byte-identically. Randomness only ever comes from the sampler's
``np.random.Generator``; ops that need noise take an explicit integer ``seed``.
Images are ``uint8`` ``(H, W, 3)`` RGB, C-contiguous, in and out.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dupscope.transforms import geometry as G

Params = dict[str, Any]
Shape = tuple[int, int]

MIN_SIDE = 16  # no op sampler produces an image smaller than this (unless the input is)

GROUPS: tuple[str, ...] = (
    "copy",
    "rotate90",
    "rotate_small",
    "mirror",
    "grayscale",
    "photometric",
    "crop",
    "resize",
    "blur",
    "noise",
    "jpeg",
    "overlay",
    "combo",
)


@dataclass(frozen=True)
class Op:
    """One catalogue entry. ``matrix(shape_in, params)`` gives the 3x3 A->B map of a
    geometric op (pixel-centre convention, see :mod:`.geometry`); None means identity."""

    name: str
    group: str
    fn: Callable[..., np.ndarray]
    sample: Callable[[np.random.Generator, Shape], Params]
    doc: str
    geometric: bool = False
    matrix: Optional[Callable[[Shape, Params], np.ndarray]] = field(default=None, repr=False)


def _out(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img, dtype=np.uint8)


def _u(rng: np.random.Generator, lo: float, hi: float, nd: int = 4) -> float:
    """Uniform float rounded so params print and replay cleanly."""
    return round(float(rng.uniform(lo, hi)), nd)


def _i(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform int in [lo, hi] inclusive (hi clamped to >= lo)."""
    return int(rng.integers(lo, max(lo, hi) + 1))


def _signed(rng: np.random.Generator, lo: float, hi: float, nd: int = 3) -> float:
    return round(float(rng.uniform(lo, hi)) * (1 if rng.random() < 0.5 else -1), nd)


# ----------------------------------------------------------------------------- identity

def identity(img: np.ndarray) -> np.ndarray:
    return _out(img.copy())


# ----------------------------------------------------------------------------- rotate90

def rot90(img: np.ndarray, k: int) -> np.ndarray:
    """Rotate by k*90 degrees counter-clockwise (as displayed); lossless."""
    return _out(np.rot90(img, int(k) % 4))


def _rot90_matrix(shape: Shape, p: Params) -> np.ndarray:
    h, w = shape
    k = int(p["k"]) % 4
    return {
        0: np.eye(3),
        1: np.array([[0.0, 1, 0], [-1, 0, w - 1], [0, 0, 1]]),
        2: np.array([[-1.0, 0, w - 1], [0, -1, h - 1], [0, 0, 1]]),
        3: np.array([[0.0, -1, h - 1], [1, 0, 0], [0, 0, 1]]),
    }[k]


def _rot90_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"k": _i(rng, 1, 3)}


# ------------------------------------------------------------------------- rotate_small

_FILLS = ("white", "black", "edge")


def _small_rot_geometry(shape: Shape, angle: float, expand: bool) -> tuple[np.ndarray, int, int]:
    h, w = shape
    m = G.rotation_about(angle, (w - 1) / 2.0, (h - 1) / 2.0)
    if not expand:
        return m, w, h
    a = math.radians(angle)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    nw = int(math.ceil(w * c + h * s - 1e-6))
    nh = int(math.ceil(w * s + h * c - 1e-6))
    return G.translation((nw - w) / 2.0, (nh - h) / 2.0) @ m, nw, nh


def rotate_small(img: np.ndarray, angle: float, expand: bool = True, fill: str = "white") -> np.ndarray:
    """Rotate by ``angle`` degrees CCW about the image centre (bilinear).

    ``expand=True`` grows the canvas so nothing is lost (what figure tools do);
    ``expand=False`` keeps the size and cuts the corners. Exposed corners are filled with
    ``fill``: "white", "black" or "edge" (replicated border pixels).
    """
    h, w = img.shape[:2]
    m, nw, nh = _small_rot_geometry((h, w), float(angle), bool(expand))
    if fill == "edge":
        mode, value = cv2.BORDER_REPLICATE, (0, 0, 0)
    elif fill in ("white", "black"):
        mode, value = cv2.BORDER_CONSTANT, (255, 255, 255) if fill == "white" else (0, 0, 0)
    else:
        raise ValueError(f"unknown fill {fill!r}")
    out = cv2.warpAffine(
        np.ascontiguousarray(img), m[:2], (nw, nh), flags=cv2.INTER_LINEAR,
        borderMode=mode, borderValue=value,
    )
    return _out(out)


def _rotate_small_matrix(shape: Shape, p: Params) -> np.ndarray:
    return _small_rot_geometry(shape, float(p["angle"]), bool(p.get("expand", True)))[0]


def _rotate_small_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {
        "angle": _signed(rng, 1.0, 20.0),
        "expand": bool(rng.random() < 0.7),
        "fill": _FILLS[_i(rng, 0, 2)],
    }


# ------------------------------------------------------------------------------- mirror

MIRROR_AXES = ("h", "v", "transpose", "antitranspose")


def mirror(img: np.ndarray, axis: str) -> np.ndarray:
    """Flip: "h" left-right, "v" up-down, "transpose" about the main diagonal,
    "antitranspose" about the anti-diagonal."""
    if axis == "h":
        out = img[:, ::-1]
    elif axis == "v":
        out = img[::-1]
    elif axis == "transpose":
        out = img.transpose(1, 0, 2)
    elif axis == "antitranspose":
        out = img.transpose(1, 0, 2)[::-1, ::-1]
    else:
        raise ValueError(f"unknown mirror axis {axis!r}")
    return _out(out)


def _mirror_matrix(shape: Shape, p: Params) -> np.ndarray:
    h, w = shape
    return {
        "h": np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]),
        "v": np.array([[1.0, 0, 0], [0, -1, h - 1], [0, 0, 1]]),
        "transpose": np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]]),
        "antitranspose": np.array([[0.0, -1, h - 1], [-1, 0, w - 1], [0, 0, 1]]),
    }[p["axis"]]


def _mirror_sample(rng: np.random.Generator, shape: Shape) -> Params:
    # Plain left-right / up-down flips are far more common in practice than diagonals.
    axis = MIRROR_AXES[int(rng.choice(4, p=[0.35, 0.35, 0.15, 0.15]))]
    return {"axis": axis}


# ---------------------------------------------------------------------------- grayscale

def grayscale(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma replicated to 3 channels (what 'convert to grayscale' does)."""
    g = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    return _out(np.repeat(g[:, :, None], 3, axis=2))


# -------------------------------------------------------------------------- photometric

def contrast(img: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """``alpha * x + beta`` with rounding and saturation (levels / brightness-contrast)."""
    return _out(cv2.convertScaleAbs(np.ascontiguousarray(img), alpha=float(alpha), beta=float(beta)))


def gamma(img: np.ndarray, gamma: float) -> np.ndarray:
    """``255 * (x/255) ** gamma`` via a lookup table; gamma < 1 brightens."""
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** float(gamma)), 0, 255).astype(np.uint8)
    return _out(cv2.LUT(np.ascontiguousarray(img), lut))


def invert(img: np.ndarray) -> np.ndarray:
    """Negative image (dark-field <-> bright-field look)."""
    return _out(255 - img)


def _contrast_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"alpha": _u(rng, 0.6, 1.6, 3), "beta": _u(rng, -40.0, 40.0, 2)}


def _gamma_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"gamma": round(float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))), 3)}


# --------------------------------------------------------------------------------- crop

MAX_CROP_FRAC = 0.3


def crop(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """Keep ``img[y0:y1, x0:x1]`` (pixel-edge box)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = int(x0), int(y0), int(x1), int(y1)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"crop box {(x0, y0, x1, y1)} outside image {w}x{h}")
    return _out(img[y0:y1, x0:x1].copy())


def _crop_matrix(shape: Shape, p: Params) -> np.ndarray:
    return G.translation(-float(p["x0"]), -float(p["y0"]))


def _crop_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape

    def side_pair(n: int) -> tuple[int, int]:
        budget = max(0, n - MIN_SIDE)  # never leave fewer than MIN_SIDE pixels
        cap = int(MAX_CROP_FRAC * n)
        a = min(cap, int(rng.uniform(0, MAX_CROP_FRAC) * n))
        b = min(cap, int(rng.uniform(0, MAX_CROP_FRAC) * n))
        if a + b > budget:
            tot = max(a + b, 1)
            a, b = a * budget // tot, b * budget // tot
        return a, b

    left, right = side_pair(w)
    top, bottom = side_pair(h)
    return {"x0": left, "y0": top, "x1": w - right, "y1": h - bottom}


# ------------------------------------------------------------------------------- resize

RESIZE_RANGE = (0.3, 2.0)


def _resize_size(shape: Shape, sx: float, sy: float) -> tuple[int, int]:
    h, w = shape
    return max(1, int(round(w * float(sx)))), max(1, int(round(h * float(sy))))


def resize(img: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Resize to ``round(W*sx) x round(H*sy)``: area filter when shrinking, bicubic when
    enlarging (what editors do by default)."""
    h, w = img.shape[:2]
    nw, nh = _resize_size((h, w), sx, sy)
    interp = cv2.INTER_AREA if nw * nh < w * h else cv2.INTER_CUBIC
    return _out(cv2.resize(np.ascontiguousarray(img), (nw, nh), interpolation=interp))


def _resize_matrix(shape: Shape, p: Params) -> np.ndarray:
    h, w = shape
    nw, nh = _resize_size(shape, p["sx"], p["sy"])
    return G.scaling_about_edges(nw / w, nh / h)


def _resize_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape
    lo, hi = RESIZE_RANGE
    s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    # Half the time keep the aspect; otherwise stretch by up to 1.35x in one direction.
    aspect = 1.0 if rng.random() < 0.5 else float(np.exp(rng.uniform(-0.3, 0.3)))
    sx = min(hi, max(lo, MIN_SIDE / w, s * math.sqrt(aspect)))
    sy = min(hi, max(lo, MIN_SIDE / h, s / math.sqrt(aspect)))
    return {"sx": round(sx, 4), "sy": round(sy, 4)}


# ----------------------------------------------------------------------- blur and noise

def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; kernel size derived from sigma by OpenCV."""
    return _out(cv2.GaussianBlur(np.ascontiguousarray(img), (0, 0), sigmaX=float(sigma)))


def noise(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Additive Gaussian noise (std ``sigma`` grey levels), independent per channel; the
    explicit ``seed`` keeps the op pure and replayable."""
    n = np.random.default_rng(int(seed)).normal(0.0, float(sigma), img.shape)
    return _out(np.clip(np.rint(img.astype(np.float64) + n), 0, 255).astype(np.uint8))


def _blur_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"sigma": _u(rng, 0.5, 3.0, 3)}


def _noise_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"sigma": _u(rng, 2.0, 20.0, 3), "seed": _i(rng, 0, 2**31 - 1)}


# --------------------------------------------------------------------------------- jpeg

def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Real JPEG encode/decode round trip with Pillow (4:2:0 chroma, like most savers)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img), "RGB").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return _out(np.asarray(im.convert("RGB")))


def _jpeg_sample(rng: np.random.Generator, shape: Shape) -> Params:
    return {"quality": _i(rng, 20, 95)}


# ----------------------------------------------------------------------------- overlays

_PALETTE = (
    (255, 255, 255), (0, 0, 0), (255, 255, 0), (255, 0, 0),
    (0, 255, 0), (0, 255, 255), (255, 0, 255), (0, 128, 255),
)
CV_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
)
LABELS = (
    "A", "B", "C", "D", "E", "F", "G", "H", "a", "b", "c", "d", "i", "ii", "iii",
    "WT", "KO", "Ctrl", "DAPI", "GFP", "Merge", "24 h", "48h", "siRNA", "+", "-", "*", "**",
)
SCALE_LABELS = ("10 µm", "20 µm", "50 µm", "100 µm", "5 µm", "1 mm", "200 nm", "0.5 mm")


def _color(rng: np.random.Generator) -> list[int]:
    if rng.random() < 0.8:
        return list(_PALETTE[_i(rng, 0, len(_PALETTE) - 1)])
    return [_i(rng, 0, 255) for _ in range(3)]


def _min_side(shape: Shape) -> int:
    return max(1, min(shape))


def text(
    img: np.ndarray, text: str, x: int, y: int, font: int, font_scale: float,
    color: list[int], thickness: int, bg: Optional[list[int]] = None,
) -> np.ndarray:
    """Panel letter / label drawn with ``cv2.putText`` (anti-aliased) with its baseline-left
    corner at (x, y); ``bg`` optionally paints a filled box behind it first."""
    out = np.ascontiguousarray(img).copy()
    if bg is not None:
        (tw, th), base = cv2.getTextSize(text, int(font), float(font_scale), int(thickness))
        pad = max(1, th // 5)
        cv2.rectangle(out, (int(x) - pad, int(y) - th - pad), (int(x) + tw + pad, int(y) + base + pad),
                      tuple(int(c) for c in bg), thickness=-1)
    cv2.putText(out, text, (int(x), int(y)), int(font), float(font_scale),
                tuple(int(c) for c in color), int(thickness), cv2.LINE_AA)
    return _out(out)


def _text_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape
    label = LABELS[_i(rng, 0, len(LABELS) - 1)]
    font = int(CV_FONTS[_i(rng, 0, len(CV_FONTS) - 1)])
    thickness = _i(rng, 1, max(1, _min_side(shape) // 100 + 1))
    target = rng.uniform(0.05, 0.15) * _min_side(shape)  # glyph height in pixels
    (_, th1), _ = cv2.getTextSize(label, font, 1.0, thickness)
    scale = round(max(0.3, float(target / max(th1, 1))), 3)
    (tw, th), base = cv2.getTextSize(label, font, scale, thickness)
    # Panel letters go in a corner most of the time.
    if rng.random() < 0.6:
        x = _i(rng, 0, max(0, w // 10))
        y = _i(rng, th, min(h - 1, th + h // 10))
    else:
        x = _i(rng, 0, max(0, w - tw - 1))
        y = _i(rng, min(th, h - 1), max(min(th, h - 1), h - base - 1))
    bg = _color(rng) if rng.random() < 0.2 else None
    return {"text": label, "x": x, "y": y, "font": font, "font_scale": scale,
            "color": _color(rng), "thickness": thickness, "bg": bg}


def scale_bar(
    img: np.ndarray, x: int, y: int, length: int, height: int, color: list[int],
    label: str = "", font_size: int = 12,
) -> np.ndarray:
    """Filled bar with its top-left corner at (x, y); optional label (e.g. "10 µm",
    drawn with Pillow's bundled font because Hershey fonts lack µ) centred above it."""
    out = np.ascontiguousarray(img).copy()
    col = tuple(int(c) for c in color)
    cv2.rectangle(out, (int(x), int(y)), (int(x) + int(length) - 1, int(y) + int(height) - 1), col, -1)
    if label:
        pil = Image.fromarray(out, "RGB")
        draw = ImageDraw.Draw(pil)
        font = ImageFont.load_default(size=int(font_size))
        l, t, r, b = draw.textbbox((0, 0), label, font=font)
        tx = int(x) + (int(length) - (r - l)) // 2 - l
        ty = int(y) - (b - t) - max(1, int(height) // 2) - t
        draw.text((tx, ty), label, font=font, fill=col)
        out = np.asarray(pil)
    return _out(out)


def _scale_bar_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape
    length = max(4, int(rng.uniform(0.1, 0.3) * w))
    height = max(2, int(rng.uniform(0.01, 0.03) * h))
    margin_x = int(rng.uniform(0.02, 0.08) * w)
    margin_y = int(rng.uniform(0.02, 0.08) * h)
    right = rng.random() < 0.7
    x = w - margin_x - length if right else margin_x
    y = h - margin_y - height
    label = SCALE_LABELS[_i(rng, 0, len(SCALE_LABELS) - 1)] if rng.random() < 0.6 else ""
    font_size = max(8, int(rng.uniform(0.04, 0.09) * _min_side(shape)))
    color = [255, 255, 255] if rng.random() < 0.6 else ([0, 0, 0] if rng.random() < 0.6 else _color(rng))
    return {"x": max(0, x), "y": max(0, y), "length": length, "height": height,
            "color": color, "label": label, "font_size": font_size}


def arrow(
    img: np.ndarray, x1: int, y1: int, x2: int, y2: int, color: list[int],
    thickness: int, tip: float = 0.25,
) -> np.ndarray:
    """Arrow from (x1, y1) to the head at (x2, y2) with ``cv2.arrowedLine``."""
    out = np.ascontiguousarray(img).copy()
    cv2.arrowedLine(out, (int(x1), int(y1)), (int(x2), int(y2)), tuple(int(c) for c in color),
                    int(thickness), cv2.LINE_AA, 0, float(tip))
    return _out(out)


def _arrow_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape
    length = rng.uniform(0.08, 0.25) * _min_side(shape)
    ang = rng.uniform(0, 2 * math.pi)
    x2, y2 = _i(rng, 0, w - 1), _i(rng, 0, h - 1)
    x1 = int(np.clip(round(x2 - length * math.cos(ang)), 0, w - 1))
    y1 = int(np.clip(round(y2 - length * math.sin(ang)), 0, h - 1))
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "color": _color(rng),
            "thickness": _i(rng, 1, max(1, _min_side(shape) // 80 + 1)), "tip": _u(rng, 0.15, 0.4, 3)}


def box(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color: list[int], thickness: int) -> np.ndarray:
    """Rectangle outline (region-of-interest / inset marker)."""
    out = np.ascontiguousarray(img).copy()
    cv2.rectangle(out, (int(x0), int(y0)), (int(x1), int(y1)), tuple(int(c) for c in color), int(thickness))
    return _out(out)


def _box_sample(rng: np.random.Generator, shape: Shape) -> Params:
    h, w = shape
    bw, bh = int(rng.uniform(0.1, 0.5) * w), int(rng.uniform(0.1, 0.5) * h)
    x0, y0 = _i(rng, 0, w - bw - 1), _i(rng, 0, h - bh - 1)
    return {"x0": x0, "y0": y0, "x1": x0 + bw, "y1": y0 + bh, "color": _color(rng),
            "thickness": _i(rng, 1, max(1, _min_side(shape) // 100 + 1))}


# ---------------------------------------------------------------------------- catalogue

def _none(rng: np.random.Generator, shape: Shape) -> Params:
    return {}


_ENTRIES: tuple[Op, ...] = (
    Op("identity", "copy", identity, _none, "exact copy; no parameters"),
    Op("rot90", "rotate90", rot90, _rot90_sample,
       "k in {1,2,3}: rotate k*90 deg counter-clockwise (lossless)", True, _rot90_matrix),
    Op("rotate_small", "rotate_small", rotate_small, _rotate_small_sample,
       "angle in +-[1, 20] deg CCW about the centre; expand: bool (canvas grows to fit, "
       "p=0.7); fill in {white, black, edge} for exposed corners", True, _rotate_small_matrix),
    Op("mirror", "mirror", mirror, _mirror_sample,
       "axis in {h, v, transpose, antitranspose} (p = .35/.35/.15/.15)", True, _mirror_matrix),
    Op("grayscale", "grayscale", grayscale, _none, "BT.601 luma to 3 equal channels; no parameters"),
    Op("contrast", "photometric", contrast, _contrast_sample,
       "alpha in [0.6, 1.6] (contrast), beta in [-40, 40] grey levels (brightness)"),
    Op("gamma", "photometric", gamma, _gamma_sample, "gamma log-uniform in [0.5, 2.0]"),
    Op("invert", "photometric", invert, _none, "255 - x; no parameters"),
    Op("crop", "crop", crop, _crop_sample,
       "x0, y0, x1, y1 (pixel-edge box): each side loses U[0, 0.3] of its length, "
       f">= {MIN_SIDE} px kept", True, _crop_matrix),
    Op("resize", "resize", resize, _resize_sample,
       "sx, sy in [0.3, 2.0]: scale log-uniform, aspect kept (p=0.5) or changed by "
       "exp(U[-0.3, 0.3]); output round(W*sx) x round(H*sy)", True, _resize_matrix),
    Op("blur", "blur", blur, _blur_sample, "Gaussian sigma in [0.5, 3.0] px"),
    Op("noise", "noise", noise, _noise_sample,
       "Gaussian sigma in [2, 20] grey levels; seed: int for the noise field"),
    Op("jpeg", "jpeg", jpeg, _jpeg_sample, "quality int in [20, 95] (Pillow encode/decode)"),
    Op("text", "overlay", text, _text_sample,
       "label from panel letters / short words; 7 Hershey fonts; glyph height 5-15% of the "
       "short side; palette or random colour; optional background box (p=0.2)"),
    Op("scale_bar", "overlay", scale_bar, _scale_bar_sample,
       "bar 10-30% of width, 1-3% of height near the bottom corner; label like '10 µm' (p=0.6)"),
    Op("arrow", "overlay", arrow, _arrow_sample,
       "length 8-25% of the short side, any direction; tip 0.15-0.4 of length"),
    Op("box", "overlay", box, _box_sample, "rectangle outline 10-50% of each side"),
)

CATALOGUE: dict[str, Op] = {op.name: op for op in _ENTRIES}
