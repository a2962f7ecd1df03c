"""Shared building blocks for the procedural generators.

Everything here is a pure function of its arguments (randomness only through the
``np.random.Generator`` passed in), so the same seed always gives the same bytes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

Size = tuple[int, int]

MIN_SIDE = 32
MAX_SIDE = 4096


def check_size(size: Sequence[int]) -> Size:
    """Validate an ``(H, W)`` pair early, so a bad size fails with a clear message."""
    if len(size) != 2:
        raise ValueError(f"size must be (H, W), got {size!r}")
    h, w = int(size[0]), int(size[1])
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise ValueError(f"size sides must lie in [{MIN_SIDE}, {MAX_SIDE}], got {size!r}")
    return h, w


def child_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent stream derived deterministically from ``rng``."""
    return np.random.default_rng(int(rng.integers(0, 2**63 - 1)))


def blur(img: np.ndarray, sigma: float | tuple[float, float]) -> np.ndarray:
    """Gaussian blur (OpenCV, reflective border); no-op for tiny sigma.

    Wide isotropic blurs (haze, glow) run on a downsampled copy: same look, a fraction
    of the cost.
    """
    sx, sy = (sigma, sigma) if np.isscalar(sigma) else sigma  # type: ignore[misc]
    if max(sx, sy) < 0.3:
        return img
    if sx == sy and sx > 8.0 and min(img.shape[:2]) >= 64:
        f = int(sx // 4)
        h, w = img.shape[:2]
        small = cv2.resize(img, (max(4, w // f), max(4, h // f)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=float(sx) / f, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(img.shape)
    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sx), sigmaY=float(sy),
                            borderType=cv2.BORDER_REFLECT)


def smooth_noise(rng: np.random.Generator, shape: Size, cells: float) -> np.ndarray:
    """Band-limited noise (~unit std) with about ``cells`` features along the long side.

    Made by upsampling a tiny random grid (bicubic), which costs almost nothing
    whatever the feature size.
    """
    h, w = shape
    long_side = max(h, w)
    gh = max(2, int(np.ceil(cells * h / long_side)) + 2)
    gw = max(2, int(np.ceil(cells * w / long_side)) + 2)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    # Resize a slightly larger grid and crop the centre to avoid edge clamping.
    big = cv2.resize(grid, (w + 2 * (w // gw + 1), h + 2 * (h // gh + 1)),
                     interpolation=cv2.INTER_CUBIC)
    oy, ox = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    out = big[oy:oy + h, ox:ox + w]
    return np.ascontiguousarray(out / max(float(out.std()), 1e-6))


def fractal_noise(rng: np.random.Generator, shape: Size, cells: float = 3.0,
                  octaves: int = 4, persistence: float = 0.5) -> np.ndarray:
    """Sum of octaves of :func:`smooth_noise`: cloud-like texture, ~unit std."""
    out = np.zeros(shape, np.float32)
    amp = 1.0
    for _ in range(octaves):
        out += amp * smooth_noise(rng, shape, cells)
        cells *= 2.0
        amp *= persistence
    return out / max(float(out.std()), 1e-6)


def fine_noise(rng: np.random.Generator, shape: Size, sigma: float) -> np.ndarray:
    """White noise blurred at ``sigma`` pixels and renormalised to unit std (grain)."""
    n = rng.standard_normal(shape, dtype=np.float32)
    if sigma >= 0.3:
        n = blur(n, sigma)
        n /= max(float(n.std()), 1e-6)
    return n


def splat(canvas: np.ndarray, x: np.ndarray, y: np.ndarray, v: np.ndarray) -> None:
    """Add point sources at sub-pixel positions with bilinear weights (in place)."""
    h, w = canvas.shape[:2]
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx = (x - x0).astype(np.float64)
    fy = (y - y0).astype(np.float64)
    flat = canvas.reshape(-1)
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                        (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        flat += np.bincount(yi[ok] * w + xi[ok], weights=(v * wgt)[ok],
                            minlength=h * w).astype(canvas.dtype)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (2-D or RGB) -> C-contiguous uint8 RGB."""
    a = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def irregular_polygon(rng: np.random.Generator, cx: float, cy: float, radius: float,
                      n: int = 20, roughness: float = 0.25, aspect: float = 1.0,
                      angle: float = 0.0) -> np.ndarray:
    """Closed blob outline: a circle whose radius wobbles smoothly (cells, glands)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = np.arange(1, 4)[:, None]
    coef = rng.standard_normal((3, 2)) * roughness / k[:, 0][:, None]
    wobble = (coef[:, :1] * np.cos(k * t) + coef[:, 1:] * np.sin(k * t)).sum(0)
    r = radius * np.clip(1.0 + wobble, 0.3, 2.0)
    px, py = r * np.cos(t) * aspect, r * np.sin(t) / aspect
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack([cx + ca * px - sa * py, cy + sa * px + ca * py], axis=1)


def fill_polys(canvas: np.ndarray, polys: list[np.ndarray], value: float) -> None:
    """Fill float polygons (sub-pixel precise via the ``shift`` argument)."""
    if not polys:
        return
    pts = [np.round(p * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(canvas, pts, color=float(value), lineType=cv2.LINE_8, shift=4)


def draw_ellipse(canvas: np.ndarray, cx: float, cy: float, a: float, b: float,
                 angle_deg: float, value: float) -> None:
    """Filled ellipse at sub-pixel precision."""
    cv2.ellipse(canvas, (int(round(cx * 16)), int(round(cy * 16))),
                (max(1, int(round(a * 16))), max(1, int(round(b * 16)))),
                float(angle_deg), 0.0, 360.0, float(value), -1, cv2.LINE_8, 4)


def poisson_points(rng: np.random.Generator, n: int, shape: Size, margin: float = 0.0,
                   clustering: float = 0.0, cluster_sigma: float = 20.0) -> np.ndarray:
    """``n`` points (x, y), uniform or partly clustered around a few centres."""
    h, w = shape
    n_cl = int(round(n * clustering))
    n_un = n - n_cl
    pts = [np.column_stack([rng.uniform(-margin, w + margin, n_un),
                            rng.uniform(-margin, h + margin, n_un)])]
    if n_cl:
        k = max(1, n_cl // 15)
        centres = np.column_stack([rng.uniform(0, w, k), rng.uniform(0, h, k)])
        idx = rng.integers(0, k, n_cl)
        pts.append(centres[idx] + rng.normal(0, cluster_sigma, (n_cl, 2)))
    return np.concatenate(pts, axis=0)


# --------------------------------------------------------------------------- fonts

FONT_FILES = {
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Sans Bold": "DejaVuSans-Bold.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "DejaVu Sans Mono": "DejaVuSansMono.ttf",
}


@lru_cache(maxsize=64)
def pil_font(name: str, size_px: int):  # -> PIL.ImageFont.FreeTypeFont
    """A matplotlib-shipped TrueType font at a pixel size (cached; fonts are immutable)."""
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILES.get(name, "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), max(4, int(size_px)))


def draw_texts(img: np.ndarray, items: list[tuple[str, float, float, str]], font: str,
               size_px: float, color: tuple[int, int, int]) -> np.ndarray:
    """Draw ``(text, x, y, anchor)`` labels on a uint8 RGB image with PIL; returns a new array."""
    if not items:
        return img
    from PIL import Image, ImageDraw

    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    f = pil_font(font, int(round(size_px)))
    for text, x, y, anchor in items:
        d.text((float(x), float(y)), text, fill=tuple(int(c) for c in color), font=f, anchor=anchor)
    return np.ascontiguousarray(np.asarray(im))


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """256x3 float32 lookup table for a matplotlib colormap."""
    import matplotlib

    return matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3].astype(np.float32)


def apply_cmap(x: np.ndarray, name: str) -> np.ndarray:
    """Map a [0, 1] float image through a colormap -> float RGB."""
    idx = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return colormap_lut(name)[idx]


# --------------------------------------------------------------------- matplotlib

MPL_FONTS = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "STIXGeneral")


def new_figure(size: Size, inches: float, facecolor: str = "white"):
    """A pyplot-free Agg figure whose pixel size is exactly ``size``.

    ``inches`` sets the long side in inches, hence the apparent text size: fonts scale
    with the image as they would in a figure embedded in a paper.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = size
    dpi = max(h, w) / inches
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor=facecolor)
    FigureCanvasAgg(fig)
    return fig


def figure_to_array(fig, size: Size) -> np.ndarray:
    """Render a figure to uint8 RGB of exactly ``size`` and release it."""
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())
    rgb = buf[:, :, :3]
    h, w = size
    if rgb.shape[0] != h or rgb.shape[1] != w:
        out = np.full((h, w, 3), 255, np.uint8)
        hh, ww = min(h, rgb.shape[0]), min(w, rgb.shape[1])
        out[:hh, :ww] = rgb[:hh, :ww]
        if hh < h:
            out[hh:, :ww] = rgb[hh - 1:hh, :ww]
        if ww < w:
            out[:, ww:] = out[:, ww - 1:ww]
        rgb = out
    out = np.ascontiguousarray(rgb).copy()
    fig.clear()
    return out


def rc_for(font: str, font_size: float, extra: dict | None = None) -> dict:
    """rcParams for one rendering (applied with ``matplotlib.rc_context``)."""
    rc = {
        "font.family": font,
        "font.size": font_size,
        "mathtext.fontset": "stix" if font == "STIXGeneral" else "dejavusans",
        "axes.unicode_minus": True,
        "path.simplify": True,
        "agg.path.chunksize": 0,
        "svg.hashsalt": "dupscope",
    }
    if extra:
        rc.update(extra)
    return rc


def pick(rng: np.random.Generator, options: Sequence, p: Sequence[float] | None = None):
    """Choose one element of a sequence (keeps tuples intact, unlike ``rng.choice``)."""
    i = int(rng.choice(len(options), p=None if p is None else np.asarray(p) / np.sum(p)))
    return options[i]
