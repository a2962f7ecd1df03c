"""Fluorescence micrographs: DAPI nuclei plus optional cytoplasm and puncta channels.

Style fixes the microscope/staining look (channel colours, magnification, density,
blur, noise, haze); each render places new cells, so siblings are different fields of
view of the same slide.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dupscope.generators._common import (
    Size,
    blur,
    draw_ellipse,
    fill_polys,
    fine_noise,
    irregular_polygon,
    pick,
    poisson_points,
    smooth_noise,
    splat,
    to_uint8,
)

BLUE = (0.05, 0.25, 1.0)
PALETTES = (
    # (nuclei, cytoplasm, third)
    (BLUE, (0.1, 1.0, 0.15), (1.0, 0.1, 0.1)),
    (BLUE, (1.0, 0.15, 0.1), (0.1, 1.0, 0.2)),
    (BLUE, (0.1, 1.0, 0.15), (1.0, 0.1, 1.0)),
    ((0.0, 0.6, 1.0), (1.0, 0.1, 0.8), (1.0, 0.9, 0.1)),
    ((1.0, 1.0, 1.0), (0.1, 1.0, 0.15), (1.0, 0.1, 0.1)),
    (BLUE, (1.0, 0.85, 0.1), (0.1, 0.9, 1.0)),
)


@dataclass(frozen=True)
class FluorescenceStyle:
    """Staining, optics and camera of one imaging session."""

    n_channels: int
    colors: tuple[tuple[float, float, float], ...]
    single_gray: bool  # one-channel images shown in gray
    cytoplasm: str  # "diffuse" | "filaments"
    third: str  # "puncta" | "mito"
    density: float  # cells per 10^4 px
    nucleus_radius: float  # px
    nucleus_cv: float
    elongation: float
    cell_scale: float  # cytoplasm radius / nucleus radius
    clustering: float
    texture: float
    focus_blur: float
    haze: float
    background: float
    noise: float
    gain: float  # photons per unit intensity (shot noise)
    gamma: float
    brightness_cv: float
    vignetting: float
    channel_gain: tuple[float, ...]


def sample_style(rng: np.random.Generator) -> FluorescenceStyle:
    n_ch = int(pick(rng, (1, 2, 3), p=(0.25, 0.35, 0.4)))
    pal = pick(rng, PALETTES)
    r = float(rng.uniform(4.0, 14.0))
    return FluorescenceStyle(
        n_channels=n_ch,
        colors=tuple(pal[:n_ch]),
        single_gray=bool(n_ch == 1 and rng.random() < 0.4),
        cytoplasm=str(pick(rng, ("diffuse", "filaments"))),
        third=str(pick(rng, ("puncta", "mito"))),
        density=float(rng.uniform(2.5, 9.0) * (8.0 / r) ** 2),
        nucleus_radius=r,
        nucleus_cv=float(rng.uniform(0.08, 0.25)),
        elongation=float(rng.uniform(0.0, 0.35)),
        cell_scale=float(rng.uniform(1.8, 3.2)),
        clustering=float(rng.uniform(0.0, 0.7)),
        texture=float(rng.uniform(0.1, 0.45)),
        focus_blur=float(rng.uniform(0.6, 2.0)),
        haze=float(rng.uniform(0.0, 0.6)),
        background=float(rng.uniform(0.01, 0.08)),
        noise=float(rng.uniform(0.004, 0.02)),
        gain=float(rng.uniform(150.0, 1500.0)),
        gamma=float(rng.uniform(0.7, 1.1)),
        brightness_cv=float(rng.uniform(0.15, 0.5)),
        vignetting=float(rng.uniform(0.0, 0.35)),
        channel_gain=tuple(float(g) for g in rng.uniform(0.6, 1.0, 3)),
    )


def _nuclei(style: FluorescenceStyle, rng: np.random.Generator, size: Size):
    h, w = size
    r0 = style.nucleus_radius
    n = max(1, int(rng.poisson(style.density * h * w / 1e4)))
    pts = poisson_points(rng, n, size, margin=r0, clustering=style.clustering,
                         cluster_sigma=r0 * 4)
    radii = r0 * np.exp(rng.normal(0, style.nucleus_cv, n))
    elong = 1.0 + style.elongation * rng.random(n)
    angles = rng.uniform(0, 180, n)
    bright = np.exp(rng.normal(0, style.brightness_cv, n))
    # A few small bright condensed (mitotic/apoptotic) nuclei.
    mitotic = rng.random(n) < 0.04
    radii[mitotic] *= 0.6
    bright[mitotic] *= 1.8
    nuc = np.zeros(size, np.float32)
    for (x, y), r, e, a, b in zip(pts, radii, elong, angles, bright):
        draw_ellipse(nuc, x, y, r * e, r / e, a, b)
    mask = (nuc > 0).astype(np.float32)
    tex = 1.0 + style.texture * fine_noise(rng, size, max(0.7, r0 / 6))
    # Chromatin: slightly brighter rim, darker nucleoli-ish holes.
    inner = blur(mask, r0 / 3)
    nuc = nuc * np.clip(tex, 0.2, None) * (1.15 - 0.3 * inner * inner)
    return nuc, mask, pts, radii


def _cytoplasm(style: FluorescenceStyle, rng: np.random.Generator, size: Size,
               pts: np.ndarray, radii: np.ndarray, nuc_mask: np.ndarray):
    h, w = size
    cell = np.zeros(size, np.float32)
    polys_by_level: dict[int, list[np.ndarray]] = {}
    for (x, y), r in zip(pts, radii):
        rad = r * style.cell_scale * float(rng.uniform(0.8, 1.2))
        poly = irregular_polygon(rng, x + rng.normal(0, r * 0.4), y + rng.normal(0, r * 0.4),
                                 rad, n=18, roughness=0.35,
                                 aspect=float(rng.uniform(0.8, 1.4)), angle=float(rng.uniform(0, np.pi)))
        level = int(rng.integers(4, 11))
        polys_by_level.setdefault(level, []).append(poly)
    for level, polys in sorted(polys_by_level.items()):
        fill_polys(cell, polys, level / 10.0)
    cell_mask = (cell > 0).astype(np.float32)
    if style.cytoplasm == "filaments":
        lines = np.zeros(size, np.float32)
        m = max(1, int(len(pts) * 14))
        idx = rng.integers(0, len(pts), m)
        ang = rng.uniform(0, np.pi, m)
        # Fibres roughly tangential/radial through each cell.
        length = radii[idx] * style.cell_scale * rng.uniform(1.0, 2.2, m)
        cx = pts[idx, 0] + rng.normal(0, 1, m) * radii[idx] * 1.2
        cy = pts[idx, 1] + rng.normal(0, 1, m) * radii[idx] * 1.2
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        segs = np.stack([np.column_stack([cx - dx, cy - dy]), np.column_stack([cx + dx, cy + dy])], 1)
        for lvl in (0.5, 0.8, 1.0):
            part = segs[rng.random(m) < 0.34]
            cv2.polylines(lines, list(np.round(part * 16).astype(np.int32)), False, lvl, 1, cv2.LINE_AA, 4)
        body = cell * (0.25 + 0.12 * smooth_noise(rng, size, max(h, w) / (style.nucleus_radius * 3)))
        sig = body + 0.55 * blur(lines, 0.6) * blur(cell_mask, 1.5) * cell
    else:
        sig = cell * np.clip(0.7 + 0.3 * smooth_noise(rng, size, max(h, w) / (style.nucleus_radius * 2)), 0.1, None)
        # Perinuclear enrichment (ER / Golgi) and texture.
        sig = sig * (1.0 + 0.8 * blur(nuc_mask, style.nucleus_radius * 0.8))
        sig = sig * np.clip(1.0 + 0.35 * fine_noise(rng, size, 1.0), 0, None)
    sig = blur(sig, 0.8)
    return sig * (1.0 - 0.6 * nuc_mask), cell_mask


def _third(style: FluorescenceStyle, rng: np.random.Generator, size: Size, cell_mask: np.ndarray):
    h, w = size
    out = np.zeros(size, np.float32)
    if style.third == "puncta":
        m = int(h * w * 0.02)
        x, y = rng.uniform(0, w - 1, m), rng.uniform(0, h - 1, m)
        keep = cell_mask[y.astype(int), x.astype(int)] > 0
        x, y = x[keep], y[keep]
        splat(out, x, y, rng.lognormal(0, 0.6, len(x)) * 3.0)
        out = blur(out, 1.0)
    else:
        m = int(h * w * 0.004)
        x, y = rng.uniform(0, w - 1, m), rng.uniform(0, h - 1, m)
        keep = cell_mask[y.astype(int), x.astype(int)] > 0
        x, y = x[keep], y[keep]
        k = len(x)
        steps = rng.normal(0, 1.0, (k, 5, 2)).cumsum(1) * 2.0
        ang = rng.uniform(0, 2 * np.pi, k)
        drift = np.stack([np.cos(ang), np.sin(ang)], 1)[:, None, :] * np.arange(5)[None, :, None] * 1.5
        worms = np.stack([x, y], 1)[:, None, :] + steps + drift
        if k:
            cv2.polylines(out, list(np.round(worms * 16).astype(np.int32)), False, 0.8, 1, cv2.LINE_AA, 4)
        out = blur(out, 0.7)
    return out


def render(style: FluorescenceStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """One field of view: new cell positions, shapes, brightness, noise."""
    h, w = size
    nuc, nuc_mask, pts, radii = _nuclei(style, rng, size)
    chans = [blur(nuc, style.focus_blur)]
    if style.n_channels >= 2:
        cyto, cell_mask = _cytoplasm(style, rng, size, pts, radii, nuc_mask)
        chans.append(blur(cyto, style.focus_blur * 0.8))
        if style.n_channels >= 3:
            chans.append(blur(_third(style, rng, size, cell_mask), style.focus_blur * 0.6))
    # Uneven illumination (vignetting, off-centre).
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)
    yy = ((np.arange(h, dtype=np.float32) - cy) ** 2)[:, None]
    xx = ((np.arange(w, dtype=np.float32) - cx) ** 2)[None, :]
    illum = 1.0 - style.vignetting * (xx + yy) / (0.5 * (h * h + w * w))
    out_ch = []
    for i, c in enumerate(chans):
        if style.haze > 0:
            c = c + style.haze * 0.5 * blur(c, max(h, w) / 25)
        c = style.background + c * illum * style.channel_gain[i] * 0.85
        # Shot noise (signal-dependent) and read noise in one Gaussian draw.
        sd = np.sqrt(np.clip(c, 0, None) * (1.0 / style.gain) + style.noise ** 2)
        c = c + sd * rng.standard_normal(size, dtype=np.float32)
        out_ch.append(np.clip(c, 0, 1) ** style.gamma)
    if style.n_channels == 1 and style.single_gray:
        return to_uint8(out_ch[0])
    rgb = np.zeros((h, w, 3), np.float32)
    for c, col in zip(out_ch, style.colors):
        rgb += c[:, :, None] * np.asarray(col, np.float32)
    return to_uint8(rgb)
