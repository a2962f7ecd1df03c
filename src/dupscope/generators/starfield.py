"""Astronomical frames: PSF stars with power-law fluxes, Sersic galaxies, sky, noise.

Style fixes the telescope/camera/processing (seeing, depth, spikes, stretch, colour
mapping); each render points at a new patch of sky.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dupscope.generators._common import (
    Size,
    apply_cmap,
    blur,
    fractal_noise,
    pick,
    splat,
    to_uint8,
)


@dataclass(frozen=True)
class StarfieldStyle:
    """Optics, detector and display settings of one survey/observer."""

    fwhm: float
    psf_ellipticity: float
    star_density: float  # per 10^4 px
    alpha: float  # power-law index of the flux distribution
    flux_min: float  # in units of noise sigma
    halo: float
    spikes: bool
    spike_angle: float
    galaxy_density: float  # per 10^4 px
    galaxy_size: float
    nebula: float
    nebula_colors: tuple[tuple[float, float, float], tuple[float, float, float]]
    sky_gradient: float
    vignetting: float
    color_mode: str  # "gray" | "rgb" | "cmap" | "inverted"
    cmap: str
    stretch: str  # "asinh" | "log" | "sqrt" | "linear"
    stretch_soft: float
    white_point: float  # in noise sigmas
    hot_pixels: float
    cosmic_rays: float
    bleed: bool
    read_noise: float


def sample_style(rng: np.random.Generator) -> StarfieldStyle:
    mode = str(pick(rng, ("gray", "rgb", "cmap", "inverted"), p=(0.45, 0.3, 0.15, 0.1)))
    return StarfieldStyle(
        fwhm=float(rng.uniform(1.3, 4.5)),
        psf_ellipticity=float(rng.uniform(0.0, 0.25) if rng.random() < 0.4 else 0.0),
        star_density=float(rng.uniform(3.0, 25.0)),
        alpha=float(rng.uniform(0.9, 1.5)),
        flux_min=float(rng.uniform(40.0, 150.0)),
        halo=float(rng.uniform(0.03, 0.12)),
        spikes=bool(rng.random() < 0.4),
        spike_angle=float(pick(rng, (0.0, 45.0, float(rng.uniform(0, 90))))),
        galaxy_density=float(rng.uniform(0.0, 0.25) if rng.random() < 0.6 else 0.0),
        galaxy_size=float(rng.uniform(3.0, 12.0)),
        nebula=float(rng.uniform(0.3, 1.5) if rng.random() < 0.3 else 0.0),
        nebula_colors=pick(rng, (((1.0, 0.25, 0.3), (0.2, 0.8, 0.9)),
                                 ((0.9, 0.4, 0.6), (0.3, 0.4, 1.0)),
                                 ((1.0, 0.5, 0.2), (0.9, 0.2, 0.3)))),
        sky_gradient=float(rng.uniform(0.0, 3.0)),
        vignetting=float(rng.uniform(0.0, 0.3)),
        color_mode=mode,
        cmap=str(pick(rng, ("afmhot", "gray", "viridis", "magma", "bone", "inferno"))),
        stretch=str(pick(rng, ("asinh", "log", "sqrt", "linear"), p=(0.45, 0.25, 0.2, 0.1))),
        stretch_soft=float(rng.uniform(2.0, 10.0)),
        white_point=float(rng.uniform(60.0, 400.0)),
        hot_pixels=float(rng.uniform(0.0, 3e-4)),
        cosmic_rays=float(rng.uniform(0.0, 3e-5)),
        bleed=bool(rng.random() < 0.35),
        read_noise=float(rng.uniform(0.8, 1.2)),
    )


def _galaxies(style: StarfieldStyle, rng: np.random.Generator, size: Size, canvas: np.ndarray,
              colours: np.ndarray | None) -> None:
    h, w = size
    n = int(rng.poisson(style.galaxy_density * h * w / 1e4))
    for _ in range(n):
        re = style.galaxy_size * float(rng.lognormal(0, 0.5))
        ns = float(rng.uniform(0.5, 4.0))
        q = float(rng.uniform(0.25, 1.0))
        th = float(rng.uniform(0, np.pi))
        flux = style.flux_min * float(rng.lognormal(3.0, 1.0))
        half = int(min(max(h, w) / 3, max(6, re * (3 + ns))))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0, y0 = int(cx) - half, int(cy) - half
        ys, xs = np.mgrid[y0:y0 + 2 * half + 1, x0:x0 + 2 * half + 1].astype(np.float32)
        dx, dy = xs - cx, ys - cy
        u = dx * np.cos(th) + dy * np.sin(th)
        v = (-dx * np.sin(th) + dy * np.cos(th)) / q
        r = np.sqrt(u * u + v * v) + 1e-3
        bn = 2 * ns - 1 / 3
        prof = np.exp(-bn * ((r / re) ** (1 / ns) - 1))
        if ns < 1.5 and rng.random() < 0.5:  # disc with spiral arms
            phi = np.arctan2(v, u)
            arms = 1 + 0.6 * np.cos(2 * (phi - 2.5 * np.log(r / re + 0.3)))
            prof = prof * arms
        prof = prof.astype(np.float32) * (flux / max(float(prof.sum()), 1e-6))
        ya, yb, xa, xb = max(0, y0), min(h, y0 + 2 * half + 1), max(0, x0), min(w, x0 + 2 * half + 1)
        if ya >= yb or xa >= xb:
            continue
        patch = prof[ya - y0:yb - y0, xa - x0:xb - x0]
        if colours is None:
            canvas[ya:yb, xa:xb] += patch
        else:
            col = np.array([1.15, 1.0, 0.75], np.float32) if ns > 2 else np.array([0.9, 1.0, 1.1], np.float32)
            canvas[ya:yb, xa:xb] += patch[:, :, None] * col


def render(style: StarfieldStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new patch of sky at this instrument's seeing, depth and display stretch."""
    h, w = size
    nb = 3 if style.color_mode == "rgb" else 1
    n = max(3, int(rng.poisson(style.star_density * h * w / 1e4)))
    x, y = rng.uniform(-2, w + 1, n), rng.uniform(-2, h + 1, n)
    flux = style.flux_min * (1 - rng.random(n)) ** (-1.0 / style.alpha)
    flux = np.minimum(flux, style.flux_min * 3e4)
    sigma = style.fwhm / 2.355
    # Stars: splat point sources then convolve with the PSF (core + halo).
    pts = np.zeros((h, w, nb), np.float32)
    if nb == 3:
        temp = rng.normal(0, 0.25, n)  # colour index: negative = blue
        ratios = np.stack([1 + temp, np.ones(n), 1 - temp], 1).clip(0.3, 2.0)
        for b in range(3):
            plane = np.zeros((h, w), np.float32)
            splat(plane, x, y, flux * ratios[:, b])
            pts[:, :, b] = plane
    else:
        plane = np.zeros((h, w), np.float32)
        splat(plane, x, y, flux)
        pts[:, :, 0] = plane
    peak_norm = 1.0 / (2 * np.pi * sigma * sigma)
    sx, sy = sigma * (1 + style.psf_ellipticity), sigma * (1 - style.psf_ellipticity)
    img = (1 - style.halo) * blur(pts, (sx, sy)) + style.halo * blur(pts, sigma * 4)
    img = img.reshape(h, w, nb)
    # Diffraction spikes and bleed trails for bright stars.
    extra = np.zeros((h, w), np.float32)
    bright = np.nonzero(flux * peak_norm > style.white_point * 1.2)[0]
    sat_level = style.white_point * 3
    for i in bright[:200]:
        f = flux[i] * peak_norm
        if style.spikes:
            ln = 3 * style.fwhm * np.sqrt(f / style.white_point)
            for k, frac in ((1.0, 0.02), (0.5, 0.04), (0.25, 0.08)):
                for a in (style.spike_angle, style.spike_angle + 90):
                    t = np.deg2rad(a)
                    dx, dy = np.cos(t) * ln * k, np.sin(t) * ln * k
                    cv2.line(extra, (int((x[i] - dx) * 16), int((y[i] - dy) * 16)),
                             (int((x[i] + dx) * 16), int((y[i] + dy) * 16)),
                             float(f * frac), 1, cv2.LINE_AA, 4)
        if style.bleed and f > sat_level:
            ln = style.fwhm * 2 * (f / sat_level)
            cv2.line(extra, (int(x[i] * 16), int((y[i] - ln) * 16)), (int(x[i] * 16), int((y[i] + ln) * 16)),
                     float(sat_level), max(1, int(style.fwhm / 2)), cv2.LINE_8, 4)
    extra = blur(extra, sigma * 0.6)
    img += extra[:, :, None]
    _galaxies(style, rng, size, img if nb == 3 else img[:, :, 0], None if nb == 1 else np.ones(3))
    img = blur(img, 0.5 * sigma).reshape(h, w, nb) if style.galaxy_density > 0 else img
    # Nebulosity: wispy fractal clouds.
    if style.nebula > 0:
        # Smooth emission modulated by ridged noise gives filaments and dark lanes.
        base = np.clip(fractal_noise(rng, size, cells=2.0, octaves=4, persistence=0.55) + 0.3, 0, None)
        ridge = 1.0 - np.abs(fractal_noise(rng, size, cells=4.0, octaves=4, persistence=0.6))
        cloud = blur(base * (0.35 + 0.65 * np.clip(ridge, 0, None) ** 2), 1.5) * style.nebula * 0.1 * style.white_point
        if nb == 3:
            mix = np.clip(0.5 + 0.5 * fractal_noise(rng, size, cells=2.0, octaves=3), 0, 1)[:, :, None]
            c1, c2 = (np.asarray(c, np.float32) for c in style.nebula_colors)
            img += cloud[:, :, None] * (mix * c1 + (1 - mix) * c2)
        else:
            img[:, :, 0] += cloud
    # Sky background: gradient + vignetting; noise in units of sigma_sky = 1.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = style.sky_gradient * ((xx / w - 0.5) * np.cos(ang) + (yy / h - 0.5) * np.sin(ang))
    rr = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    img = img * (1 - style.vignetting * rr)[:, :, None]
    img += (grad + 5.0)[:, :, None]
    img += np.sqrt(np.clip(img, 0, None) / 5.0) * rng.standard_normal(img.shape, dtype=np.float32) * style.read_noise
    # Detector artefacts (sharp, after the optics).
    nh = int(rng.poisson(style.hot_pixels * h * w))
    if nh:
        img[rng.integers(0, h, nh), rng.integers(0, w, nh)] += rng.uniform(20, 400, (nh, 1)).astype(np.float32)
    ncr = int(rng.poisson(style.cosmic_rays * h * w))
    if ncr:
        cr = np.zeros((h, w), np.float32)
        for _ in range(ncr):
            px, py = rng.uniform(0, w), rng.uniform(0, h)
            t, ln = rng.uniform(0, np.pi), rng.uniform(2, 15)
            cv2.line(cr, (int(px), int(py)), (int(px + ln * np.cos(t)), int(py + ln * np.sin(t))),
                     float(rng.uniform(50, 500)), 1, cv2.LINE_8)
        img += cr[:, :, None]
    # Display stretch: black at sky - 2 sigma, white at white_point.
    x = np.clip((img - (5.0 - 2.0)) / style.white_point, 0, None)
    if style.stretch == "asinh":
        s = style.stretch_soft / style.white_point
        x = np.arcsinh(x / s) / np.arcsinh(1 / s)
    elif style.stretch == "log":
        a = style.white_point / style.stretch_soft
        x = np.log1p(a * x) / np.log1p(a)
    elif style.stretch == "sqrt":
        x = np.sqrt(x)
    x = np.clip(x, 0, 1)
    if style.color_mode == "rgb":
        return to_uint8(x)
    x = x[:, :, 0]
    if style.color_mode == "cmap":
        return to_uint8(apply_cmap(x, style.cmap))
    if style.color_mode == "inverted":
        return to_uint8(1.0 - x)
    return to_uint8(x)
