"""Bright-field histology: H&E (pink stroma, purple nuclei, glands, fat) or IHC (DAB brown).

Images are built as stain concentration maps mixed with the Beer-Lambert law, so
colours behave like real stains. Style fixes the stain vectors and intensities, tissue
type mix and magnification; each render is a new field of the tissue.
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
    fractal_noise,
    irregular_polygon,
    pick,
    smooth_noise,
    to_uint8,
)

# Optical densities (R, G, B) per unit stain (Ruifrok & Johnston).
OD_H = np.array([0.65, 0.70, 0.29], np.float32)
OD_E = np.array([0.07, 0.99, 0.11], np.float32)
OD_DAB = np.array([0.27, 0.57, 0.78], np.float32)


@dataclass(frozen=True)
class HistologyStyle:
    """Stain chemistry, scanner and tissue type of one slide."""

    stain: str  # "HE" | "IHC"
    od_h: tuple[float, float, float]
    od_e: tuple[float, float, float]
    h_level: float
    e_level: float
    dab_level: float
    dab_pattern: str  # "nuclear" | "cytoplasmic" | "membrane"
    dab_fraction: float
    nucleus_radius: float
    nucleus_density: float  # stromal nuclei per 10^4 px
    cellularity: float  # fraction of the field covered by dense cell nests
    lymphocytes: float
    fibre_density: float
    fibre_coherence: float
    clefts: float
    gland_density: float  # per 10^5 px
    gland_size: float
    fat: float
    focus_blur: float
    noise: float
    white: tuple[float, float, float]


def _jitter_od(rng: np.random.Generator, od: np.ndarray, amt: float) -> tuple[float, float, float]:
    v = np.clip(od + rng.normal(0, amt, 3), 0.02, None)
    v = v / np.linalg.norm(v)
    return tuple(float(a) for a in v)


def sample_style(rng: np.random.Generator) -> HistologyStyle:
    stain = str(pick(rng, ("HE", "IHC"), p=(0.65, 0.35)))
    r = float(rng.uniform(3.0, 7.0))
    return HistologyStyle(
        stain=stain,
        od_h=_jitter_od(rng, OD_H, 0.08),
        od_e=_jitter_od(rng, OD_E, 0.08),
        h_level=float(rng.uniform(0.55, 1.0) * (0.7 if stain == "IHC" else 1.0)),
        e_level=float(rng.uniform(0.14, 0.3) * (0.3 if stain == "IHC" else 1.0)),
        dab_level=float(rng.uniform(0.5, 1.3)),
        dab_pattern=str(pick(rng, ("nuclear", "cytoplasmic", "membrane"))),
        dab_fraction=float(rng.uniform(0.1, 0.7)),
        nucleus_radius=r,
        nucleus_density=float(rng.uniform(4.0, 14.0) * (5.0 / r) ** 2),
        cellularity=float(rng.uniform(0.1, 0.6) if rng.random() < 0.5 else 0.0),
        lymphocytes=float(rng.uniform(0.0, 3.0) * (5.0 / r) ** 2),
        fibre_density=float(rng.uniform(0.5, 1.5)),
        fibre_coherence=float(rng.uniform(0.2, 0.9)),
        clefts=float(rng.uniform(0.0, 0.5) if rng.random() < 0.5 else 0.0),
        gland_density=float(rng.uniform(0.0, 1.2) if rng.random() < 0.65 else 0.0),
        gland_size=float(rng.uniform(6.0, 12.0) * r),
        fat=float(rng.uniform(0.1, 0.5) if rng.random() < 0.25 else 0.0),
        focus_blur=float(rng.uniform(0.4, 1.2)),
        noise=float(rng.uniform(0.005, 0.02)),
        white=tuple(float(a) for a in np.clip(rng.normal(0.95, 0.02, 3), 0.88, 1.0)),
    )


def _fibres(style: HistologyStyle, rng: np.random.Generator, size: Size, theta: np.ndarray) -> np.ndarray:
    """Wavy collagen fibres traced along a smooth orientation field."""
    h, w = size
    n = int(style.fibre_density * h * w / 60)
    pts = np.column_stack([rng.uniform(0, w, n), rng.uniform(0, h, n)]).astype(np.float32)
    steps = 12
    step = float(rng.uniform(3.0, 5.0))
    path = np.empty((n, steps, 2), np.float32)
    for s in range(steps):
        path[:, s] = pts
        xi = np.clip(pts[:, 0].astype(int), 0, w - 1)
        yi = np.clip(pts[:, 1].astype(int), 0, h - 1)
        t = theta[yi, xi]
        pts = pts + step * np.column_stack([np.cos(t), np.sin(t)])
    out = np.zeros(size, np.float32)
    groups = rng.integers(0, 3, n)
    for g, (val, thick) in enumerate(((0.3, 1), (0.5, 1), (0.7, 2))):
        sel = path[groups == g]
        if len(sel):
            cv2.polylines(out, list(np.round(sel * 16).astype(np.int32)), False, val, thick, cv2.LINE_AA, 4)
    return out


def _voronoi_fat(rng: np.random.Generator, size: Size, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Adipocyte mesh: (membrane map, interior map) from a Voronoi tessellation."""
    h, w = size
    n = max(4, int(h * w / (cell * cell)))
    seeds = np.ones(size, np.uint8)
    seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
    edge = np.zeros(size, np.float32)
    edge[:, 1:] += labels[:, 1:] != labels[:, :-1]
    edge[1:, :] += labels[1:, :] != labels[:-1, :]
    edge = np.clip(edge, 0, 1)
    return blur(edge, 0.7) * 1.5, 1 - np.clip(edge, 0, 1)


def render(style: HistologyStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new field of view of this slide."""
    h, w = size
    r0 = style.nucleus_radius
    base_angle = rng.uniform(0, np.pi)
    theta = base_angle + (1.2 - style.fibre_coherence) * 1.6 * smooth_noise(rng, size, 3.0)
    # Eosin: stroma of fibres, with pale clefts and density variation.
    fib = _fibres(style, rng, size, theta)
    dens = np.clip(0.75 + 0.25 * fractal_noise(rng, size, cells=2.5, octaves=3), 0.2, 1.2)
    E = (0.5 + 0.6 * blur(fib, 0.9)) * dens
    if style.clefts > 0:
        cl = smooth_noise(rng, size, max(h, w) / (r0 * 6))
        E *= np.clip((np.abs(cl) - style.clefts * 0.35) * 4.0, 0.05, 1.0)
    H = 0.05 * E  # faint haematoxylin tint of stroma
    D = np.zeros(size, np.float32)
    tissue = np.ones(size, np.float32)
    nuclei = np.zeros(size, np.float32)
    # Fat: white polygonal cells with thin pink membranes, in patches.
    if style.fat > 0:
        region = (fractal_noise(rng, size, cells=2.0, octaves=2) > (1.0 - 2 * style.fat)).astype(np.float32)
        region = blur(region, 2.0)
        memb, inner = _voronoi_fat(rng, size, r0 * 9)
        E = E * (1 - region) + region * memb * 0.7
        H *= 1 - region
        tissue *= 1 - region * inner * 0.999
    # Glands: epithelium ring around a white lumen, columnar nuclei at the base.
    n_gl = int(rng.poisson(style.gland_density * h * w / 1e5))
    epi = np.zeros(size, np.float32)
    lumen = np.zeros(size, np.float32)
    basal: list[tuple[float, float, float, float]] = []
    for _ in range(n_gl):
        R = style.gland_size * float(rng.lognormal(0, 0.25))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        asp, ang = float(rng.uniform(0.7, 1.6)), float(rng.uniform(0, np.pi))
        outer = irregular_polygon(rng, cx, cy, R, n=28, roughness=0.18, aspect=asp, angle=ang)
        inner = cx + (outer[:, 0] - cx) * 0.55, cy + (outer[:, 1] - cy) * 0.55
        fill_polys(epi, [outer], 1.0)
        fill_polys(lumen, [np.column_stack(inner)], 1.0)
        # Nuclei along the basal side, elongated perpendicular to the outline.
        k = int(2 * np.pi * R / (r0 * 1.6))
        t = rng.uniform(0, 1, k) * len(outer)
        i0 = t.astype(int) % len(outer)
        i1 = (i0 + 1) % len(outer)
        f = (t - np.floor(t))[:, None]
        p = outer[i0] * (1 - f) + outer[i1] * f
        q = 0.85 + rng.normal(0, 0.03, k)
        px = cx + (p[:, 0] - cx) * q[:]
        py = cy + (p[:, 1] - cy) * q[:]
        angs = np.degrees(np.arctan2(py - cy, px - cx))
        basal.extend(zip(px, py, angs, rng.uniform(0.8, 1.2, k)))
    if n_gl:
        epi_only = np.clip(epi - lumen, 0, 1)
        E = E * (1 - epi) + epi_only * 0.55 * (1 + 0.2 * fine_noise(rng, size, 1.0))
        H = H * (1 - epi) + epi_only * 0.12
        secretion = lumen * 0.08 * np.clip(smooth_noise(rng, size, 6.0), 0, None)
        E = E + secretion
        tissue = tissue * (1 - lumen * 0.999)
    # Nuclei: spindle stromal nuclei aligned with fibres, round lymphocytes, basal epithelium.
    n_str = int(rng.poisson(style.nucleus_density * h * w / 1e4))
    xs, ys = rng.uniform(0, w, n_str), rng.uniform(0, h, n_str)
    keep = (tissue[ys.astype(int), xs.astype(int)] > 0.5) & (epi[ys.astype(int), xs.astype(int)] < 0.5)
    positive: list[tuple[float, float, float, float, float]] = []
    for x, y in zip(xs[keep], ys[keep]):
        ang = np.degrees(theta[int(y), int(x)])
        a = r0 * rng.uniform(1.2, 2.2)
        b = r0 * rng.uniform(0.35, 0.6)
        v = float(rng.uniform(0.6, 1.0))
        draw_ellipse(nuclei, x, y, a, b, ang, v)
        positive.append((x, y, a, b, ang))
    if style.cellularity > 0:
        # Dense nests of round/oval cells with purple-pink cytoplasm (tumour, glands cut across).
        nest = fractal_noise(rng, size, cells=2.0, octaves=3) > (1.0 - 2.0 * style.cellularity)
        nest_f = blur(nest.astype(np.float32), 2.0) * tissue * (1 - epi)
        E = E * (1 - nest_f) + nest_f * 0.5 * (1 + 0.15 * fine_noise(rng, size, 1.5))
        H = H + nest_f * 0.1
        m = int(h * w / (r0 * r0 * 9))
        xs2, ys2 = rng.uniform(0, w, m), rng.uniform(0, h, m)
        ok = nest_f[ys2.astype(int), xs2.astype(int)] > 0.5
        for x, y in zip(xs2[ok], ys2[ok]):
            a = r0 * rng.uniform(0.9, 1.4)
            b = a * rng.uniform(0.65, 1.0)
            ang = rng.uniform(0, 180)
            draw_ellipse(nuclei, x, y, a, b, ang, float(rng.uniform(0.55, 0.9)))
            positive.append((x, y, a, b, ang))
    n_ly = int(rng.poisson(style.lymphocytes * h * w / 1e4))
    for x, y in zip(rng.uniform(0, w, n_ly), rng.uniform(0, h, n_ly)):
        if tissue[int(y), int(x)] > 0.5:
            rr = r0 * rng.uniform(0.6, 0.8)
            draw_ellipse(nuclei, x, y, rr, rr * rng.uniform(0.85, 1.0), rng.uniform(0, 180), 1.25)
            positive.append((x, y, rr, rr, 0.0))
    for x, y, ang, s in basal:
        a, b = r0 * 1.3 * s, r0 * 0.6 * s
        draw_ellipse(nuclei, x, y, a, b, ang, float(rng.uniform(0.7, 1.0)))
        positive.append((x, y, a, b, ang))
    chrom = np.clip(1 + 0.35 * fine_noise(rng, size, max(0.6, r0 / 4)), 0.3, None)
    nuc_mask = (nuclei > 0).astype(np.float32)
    H = H * (1 - nuc_mask) + nuclei * chrom
    E = E * (1 - 0.7 * nuc_mask)
    # IHC: DAB on a subset of cells.
    if style.stain == "IHC" and positive:
        sel = rng.random(len(positive)) < style.dab_fraction
        dab = np.zeros(size, np.float32)
        for (x, y, a, b, ang), s in zip(positive, sel):
            if not s:
                continue
            if style.dab_pattern == "nuclear":
                draw_ellipse(dab, x, y, a, b, ang, 1.0)
            elif style.dab_pattern == "cytoplasmic":
                draw_ellipse(dab, x, y, a * 2.2, max(b, a) * 1.8, ang, 0.6)
            else:
                ring = irregular_polygon(rng, x, y, max(a, b) * 1.5, n=10, roughness=0.3)
                cv2.polylines(dab, [np.round(ring * 16).astype(np.int32)], True, 0.8, 1, cv2.LINE_AA, 4)
        if n_gl and style.dab_pattern != "nuclear":
            dab = np.maximum(dab, np.clip(epi - lumen, 0, 1) * (smooth_noise(rng, size, 4.0) > 0) * 0.6)
        D = blur(dab, 0.8) * np.clip(1 + 0.3 * fine_noise(rng, size, 1.0), 0, None)
        if style.dab_pattern == "nuclear":
            H = H * (1 - 0.6 * (D > 0.1))
    # Beer-Lambert mixing.
    od = (H[:, :, None] * style.h_level * np.asarray(style.od_h, np.float32)
          + E[:, :, None] * style.e_level * np.asarray(style.od_e, np.float32)
          + D[:, :, None] * style.dab_level * OD_DAB)
    od = blur(od, style.focus_blur)
    rgb = np.asarray(style.white, np.float32) * np.exp(-2.302585 * od)
    rgb += style.noise * rng.standard_normal((h, w, 3), dtype=np.float32)
    return to_uint8(rgb)
