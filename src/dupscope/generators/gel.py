"""DNA agarose gels: bright bands on a dark background, ladder lane, wells, dye front.

Style fixes the gel template (lanes, ladder kind and position, imager colour and
exposure, labels); each render runs new samples: fragment sizes, intensities,
smears and background differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dupscope.generators._common import (
    Size,
    blur,
    draw_texts,
    fine_noise,
    fractal_noise,
    pick,
    pil_font,
    to_uint8,
)
from dupscope.generators._lanes import add_band_row, lane_centres, lane_profile

LADDERS = {
    "1kb": ((10000, 8000, 6000, 5000, 4000, 3000, 2000, 1500, 1000, 500, 250), (3000, 1000)),
    "100bp": ((1500, 1200, 1000, 900, 800, 700, 600, 500, 400, 300, 200, 100), (1000, 500)),
    "1kb+": ((5000, 3000, 2000, 1500, 1000, 850, 650, 500, 400, 300, 200, 100), (1500, 500)),
}
TINTS = {
    "gray": (1.0, 1.0, 1.0),
    "orange": (1.0, 0.62, 0.25),
    "pink": (1.0, 0.55, 0.75),
    "green": (0.45, 1.0, 0.45),
}


@dataclass(frozen=True)
class GelStyle:
    """Gel template and imager settings."""

    n_lanes: int
    ladder: str
    ladder_pos: str  # "first" | "last" | "both"
    lane_fill: float
    background: float
    glow: float
    gain: float
    response: float
    band_thickness: float
    smile: float
    tint: str
    inverted: bool
    wells: float
    dye_front: float
    primer_dimer: float
    noise: float
    labels: bool
    bp_labels: bool
    font: str
    font_frac: float
    margin: float
    bp_range: tuple[float, float]


def sample_style(rng: np.random.Generator) -> GelStyle:
    ladder = str(pick(rng, tuple(LADDERS)))
    sizes = LADDERS[ladder][0]
    return GelStyle(
        n_lanes=int(rng.integers(5, 17)),
        ladder=ladder,
        ladder_pos=str(pick(rng, ("first", "last", "both"), p=(0.7, 0.1, 0.2))),
        lane_fill=float(rng.uniform(0.55, 0.8)),
        background=float(rng.uniform(0.02, 0.14)),
        glow=float(rng.uniform(0.0, 0.12)),
        gain=float(rng.uniform(0.6, 1.3)),
        response=float(rng.uniform(1.0, 2.5)),
        band_thickness=float(rng.uniform(0.006, 0.014)),
        smile=float(rng.uniform(-0.3, 1.0)),
        tint=str(pick(rng, tuple(TINTS), p=(0.6, 0.15, 0.1, 0.15))),
        inverted=bool(rng.random() < 0.2),
        wells=float(rng.uniform(0.0, 0.35)),
        dye_front=float(rng.uniform(0.0, 0.12)),
        primer_dimer=float(rng.uniform(0.0, 0.5)),
        noise=float(rng.uniform(0.005, 0.025)),
        labels=bool(rng.random() < 0.55),
        bp_labels=bool(rng.random() < 0.5),
        font=str(pick(rng, ("DejaVu Sans", "DejaVu Sans Bold", "DejaVu Serif"))),
        font_frac=float(rng.uniform(0.032, 0.05)),
        margin=float(rng.uniform(0.0, 0.05)),
        bp_range=(float(min(sizes)) * 0.7, float(max(sizes)) * 1.3),
    )


def _bp_label(bp: int) -> str:
    return f"{bp // 1000} kb" if bp >= 1000 and bp % 1000 == 0 else f"{bp} bp"


def render(style: GelStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new gel run with this template."""
    h, w = size
    fpx = style.font_frac * min(h, w)
    sizes, strong = LADDERS[style.ladder]
    top = int(fpx * 1.6) if style.labels else int(style.margin * h)
    bp_marks = (sizes[0], *strong, sizes[-1])
    left = (int(max(pil_font(style.font, int(round(fpx))).getlength(_bp_label(b)) for b in bp_marks) + fpx * 0.6)
            if style.bp_labels else int(style.margin * w))
    right = int(style.margin * w)
    bottom = int(style.margin * h)
    gh, gw = max(8, h - top - bottom), max(8, w - left - right)
    sig = np.zeros((gh, gw), np.float32)
    centres, pitch = lane_centres(style.n_lanes, 0.03 * gw, 0.97 * gw)
    half = pitch * style.lane_fill / 2
    prof = lane_profile(np.arange(gw, dtype=np.float32), centres, half, max(0.5, pitch * 0.05))
    well_y = 0.06 * gh
    lo, hi = np.log10(style.bp_range[0]), np.log10(style.bp_range[1])

    def y_of(bp: float) -> float:
        t = (hi - np.log10(bp)) / (hi - lo)
        return float(well_y + (0.92 * gh - well_y) * (t ** 1.15))

    th = style.band_thickness * gh
    ladder_lanes = {"first": [0], "last": [style.n_lanes - 1], "both": [0, style.n_lanes - 1]}[style.ladder_pos]
    lane_jitter = rng.normal(0, 0.003 * gh, style.n_lanes)
    for bp in sizes:
        inten = np.zeros(style.n_lanes, np.float32)
        inten[ladder_lanes] = (2.0 if bp in strong else 0.8) * rng.uniform(0.9, 1.1)
        add_band_row(sig, prof, centres, half, y_of(bp) + lane_jitter, th, inten, smile=style.smile)
    # Samples: a few products shared by subsets of lanes (genotyping / PCR look).
    n_prod = int(rng.integers(1, 5))
    sample_lanes = np.array([i for i in range(style.n_lanes) if i not in ladder_lanes])
    for bp in np.exp(rng.uniform(np.log(style.bp_range[0] * 1.6), np.log(style.bp_range[1] / 1.6), n_prod)):
        inten = np.zeros(style.n_lanes, np.float32)
        on = sample_lanes[rng.random(len(sample_lanes)) < rng.uniform(0.3, 1.0)]
        inten[on] = rng.lognormal(0, 0.6, len(on)) * rng.uniform(0.4, 1.8)
        smear = (rng.random(style.n_lanes) < 0.3) * inten * rng.uniform(0.02, 0.15)
        add_band_row(sig, prof, centres, half, y_of(bp) + lane_jitter, th * rng.uniform(0.9, 1.6), inten,
                     smile=style.smile, smear=smear, smear_len=th * 6, smear_up=th * 3)
    # Genomic-DNA smears high up in some lanes; primer dimers at the bottom.
    gen = np.zeros(style.n_lanes, np.float32)
    gen[sample_lanes] = (rng.random(len(sample_lanes)) < 0.15) * rng.uniform(0.2, 0.6)
    add_band_row(sig, prof, centres, half, y_of(style.bp_range[1] * 0.8), th * 1.5, gen, smile=style.smile,
                 smear=gen, smear_len=gh * 0.12)
    pd = np.zeros(style.n_lanes, np.float32)
    pd[sample_lanes] = style.primer_dimer * rng.uniform(0.0, 1.0, len(sample_lanes))
    add_band_row(sig, prof, centres, half, 0.95 * gh, th * 2.5, pd, smile=style.smile)
    # Wells: faint glowing slots at the top of each lane.
    wl = np.full(style.n_lanes, style.wells, np.float32)
    add_band_row(sig, prof, centres, half * 1.05, well_y - th * 1.5, th * 0.7, wl)
    sig = sig * np.clip(1 + 0.12 * fine_noise(rng, (gh, gw), 1.0), 0, None)
    val = 1.0 - np.exp(-style.response * style.gain * sig)
    # Background: imager glow (brighter centre), dye-front shadow, noise.
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    rr = ((xx / gw - 0.5) ** 2 + (yy / gh - 0.5) ** 2)
    bg = style.background + style.glow * np.exp(-rr * 3.0) + 0.015 * fractal_noise(rng, (gh, gw), cells=2.5, octaves=3)
    dye_y = gh * rng.uniform(0.75, 0.9)
    bg = bg * (1 - style.dye_front * 4 * np.exp(-0.5 * ((yy - dye_y) / (0.02 * gh)) ** 2) * prof.sum(0)[None, :])
    val = np.clip(bg + val * (1 - style.background) + style.noise * fine_noise(rng, (gh, gw), 0.6), 0, 1)
    val = blur(val, 0.5)
    page = np.zeros((h, w), np.float32)
    page[top:top + gh, left:left + gw] = val
    tint = np.asarray(TINTS[style.tint], np.float32)
    if style.inverted:
        img = 1.0 - page[:, :, None] * np.ones(3, np.float32)
    else:
        img = page[:, :, None] * tint + (page[:, :, None] ** 3) * (1 - tint) * 0.8
    outside = np.ones((h, w), bool)
    outside[top:top + gh, left:left + gw] = False
    img[outside] = 1.0 if (style.labels or style.bp_labels) else (1.0 if style.inverted else 0.0)
    out = to_uint8(img)
    texts: list[tuple[str, float, float, str]] = []
    if style.labels:
        for i, cx in enumerate(centres):
            lab = "M" if i in ladder_lanes else str(i + 1 - sum(1 for j in ladder_lanes if j < i))
            texts.append((lab, left + float(cx), top - fpx * 0.4, "ms"))
    if style.bp_labels:
        for bp in bp_marks:
            texts.append((_bp_label(bp), left - fpx * 0.3, top + y_of(bp), "rm"))
    return draw_texts(out, texts, style.font, fpx, (0, 0, 0))
