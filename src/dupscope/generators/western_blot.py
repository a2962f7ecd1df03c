"""Western blots: lanes of bands on a membrane, as full blots or stacked cropped strips.

Style fixes the figure template (lane count and geometry, labels, fonts, film look,
layout); each render exposes a new blot: band positions, per-lane intensities, smears,
background blotches and speckles all change. Siblings are the classic "same lane
layout, different blot" hard negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
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

PROTEINS = ("β-actin", "GAPDH", "α-tubulin", "p-ERK1/2", "ERK1/2", "p-AKT", "AKT", "p53", "p21",
            "Cyclin D1", "Bcl-2", "Bax", "cleaved PARP", "LC3B", "p62", "HIF-1α", "c-Myc",
            "mTOR", "p-STAT3", "STAT3", "Vinculin", "Histone H3", "NF-κB p65", "Caspase-3",
            "E-cadherin", "Vimentin", "GFP", "FLAG", "HA-tag", "Lamin B1")
TREATMENTS = ("siRNA", "EGF", "Dox", "LPS", "TNF-α", "shRNA", "Drug", "IFN-γ", "H2O2", "Insulin")
GROUPS = ("Ctrl", "WT", "KO", "Veh", "Mock", "NT", "OE", "KD", "DMSO", "Tx")
MW_MARKERS = (250, 150, 100, 75, 50, 37, 25, 20, 15, 10)
FONTS = ("DejaVu Sans", "DejaVu Sans Bold", "DejaVu Serif", "DejaVu Sans Mono")
TINTS = ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (0.97, 0.98, 1.0), (1.0, 0.98, 0.93), (0.96, 1.0, 0.98))


@dataclass(frozen=True)
class WesternStyle:
    """Figure template and film/imager look of one blot figure."""

    layout: str  # "full" | "strips"
    n_lanes: int
    lane_fill: float  # lane width / lane pitch
    n_bands: tuple[int, int]  # bands per full blot (min, max)
    n_strips: int
    strip_labels: tuple[str, ...]
    doublets: tuple[bool, ...]
    lane_label_kind: str  # "none" | "numbers" | "plusminus" | "groups"
    lane_labels: tuple[str, ...]
    treatment_rows: tuple[tuple[str, tuple[str, ...]], ...]
    mw_labels: bool
    font: str
    font_frac: float
    background: float
    unevenness: float
    darkness: float
    response: float  # film saturation constant
    band_thickness: float  # fraction of membrane height
    smile: float
    softness: float
    smear_prob: float
    speckles: float
    grain: float
    inverted: bool
    tint: tuple[float, float, float]
    label_side: str  # "left" | "right"
    frame: bool


def sample_style(rng: np.random.Generator) -> WesternStyle:
    n_lanes = int(rng.integers(3, 15))
    layout = str(pick(rng, ("full", "strips"), p=(0.45, 0.55)))
    kind = str(pick(rng, ("none", "numbers", "plusminus", "groups"), p=(0.2, 0.3, 0.3, 0.2)))
    if kind == "groups" and n_lanes > 8:
        kind = "numbers"
    n_strips = int(rng.integers(2, 5))
    labels = tuple(str(s) for s in rng.choice(PROTEINS, n_strips, replace=False))
    groups = tuple(str(s) for s in rng.choice(GROUPS, n_lanes, replace=True))
    n_rows = int(rng.integers(1, 3))
    rows = []
    for t in rng.choice(TREATMENTS, n_rows, replace=False):
        pat = rng.random(n_lanes) < 0.5
        if rng.random() < 0.5:
            pat = (np.arange(n_lanes) // max(1, n_lanes // (2 * (len(rows) + 1)))) % 2 == 1
        rows.append((str(t), tuple("+" if p else "−" for p in pat)))
    return WesternStyle(
        layout=layout,
        n_lanes=n_lanes,
        lane_fill=float(rng.uniform(0.55, 0.88)),
        n_bands=(int(rng.integers(1, 4)), int(rng.integers(4, 9))),
        n_strips=n_strips,
        strip_labels=labels,
        doublets=tuple(bool(b) for b in rng.random(n_strips) < 0.25),
        lane_label_kind=kind,
        lane_labels=groups,
        treatment_rows=tuple(rows),
        mw_labels=bool(rng.random() < 0.6),
        font=str(pick(rng, FONTS)),
        font_frac=float(rng.uniform(0.035, 0.055)),
        background=float(rng.uniform(0.78, 0.97)),
        unevenness=float(rng.uniform(0.01, 0.07)),
        darkness=float(rng.uniform(0.7, 0.97)),
        response=float(rng.uniform(1.2, 3.5)),
        band_thickness=float(rng.uniform(0.006, 0.016)),
        smile=float(rng.uniform(-0.6, 1.2)),
        softness=float(rng.uniform(0.04, 0.15)),
        smear_prob=float(rng.uniform(0.0, 0.5)),
        speckles=float(rng.uniform(0.0, 3.0)),
        grain=float(rng.uniform(0.005, 0.03)),
        inverted=bool(rng.random() < 0.15),
        tint=pick(rng, TINTS),
        label_side=str(pick(rng, ("left", "right"))),
        frame=bool(rng.random() < 0.5),
    )


def _lane_pattern(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 4)
    if kind == 0:  # loading control: even
        v = np.full(n, rng.uniform(0.6, 1.4)) * rng.lognormal(0, 0.12, n)
    elif kind == 1:  # dose / time trend
        v = np.linspace(rng.uniform(0.02, 1.2), rng.uniform(0.02, 1.4), n) * rng.lognormal(0, 0.2, n)
    elif kind == 2:  # on/off by condition
        v = np.where(rng.random(n) < 0.5, rng.uniform(0.5, 1.5), rng.uniform(0.0, 0.15)) * rng.lognormal(0, 0.2, n)
    else:
        v = rng.lognormal(-0.3, 0.8, n)
    return v.astype(np.float32)


def _membrane(style: WesternStyle, rng: np.random.Generator, mh: int, mw: int,
              rows: list[tuple[float, float]]) -> np.ndarray:
    """Film density (0 = clear .. 1 = black) of one membrane with the given band rows (y, thickness)."""
    sig = np.zeros((mh, mw), np.float32)
    side = 0.04 * mw
    centres, pitch = lane_centres(style.n_lanes, side, mw - side)
    # Hand-made crops: the lanes sit a little differently in every panel.
    centres = centres + rng.normal(0, pitch * 0.12) + rng.normal(0, pitch * 0.02, len(centres))
    half = pitch * style.lane_fill / 2
    soft = max(0.6, pitch * style.softness)
    xs = np.arange(mw, dtype=np.float32)
    prof = lane_profile(xs, centres, half, soft)
    lane_shift = rng.normal(0, 0.004 * mh, style.n_lanes)  # uneven running
    for y, th in rows:
        inten = _lane_pattern(rng, style.n_lanes)
        smear = None
        if rng.random() < style.smear_prob:
            smear = (rng.random(style.n_lanes) < 0.6) * rng.uniform(0.05, 0.3, style.n_lanes) * inten
        add_band_row(sig, prof, centres, half, y + lane_shift, th * rng.lognormal(0, 0.1, style.n_lanes)
                     * (0.8 + 0.4 * np.clip(inten, 0, 1.5)), inten, smile=style.smile,
                     smear=smear, smear_len=th * 4, smear_up=th * 1.5)
    # Band edge texture: bands are not perfectly smooth.
    sig *= np.clip(1 + 0.15 * fine_noise(rng, (mh, mw), 1.2), 0, None)
    dens = 1.0 - np.exp(-style.response * sig)
    # Background blotches, lane-wise streaks and speckles.
    bg = style.unevenness * fractal_noise(rng, (mh, mw), cells=2.0, octaves=3)
    bg += 0.25 * style.unevenness * (prof.sum(0) * rng.uniform(0.2, 1.0))[None, :]
    n_sp = int(rng.poisson(style.speckles * mh * mw / 1e4))
    if n_sp:
        sp = np.zeros((mh, mw), np.float32)
        for px, py, r, v in zip(rng.uniform(0, mw, n_sp), rng.uniform(0, mh, n_sp),
                                rng.exponential(0.8, n_sp) + 0.4, rng.uniform(0.2, 0.9, n_sp)):
            cv2.circle(sp, (int(px * 16), int(py * 16)), int(r * 16), float(v), -1, cv2.LINE_AA, 4)
        dens = np.maximum(dens, blur(sp, 0.6))
    dens = np.clip(dens + bg + style.grain * fine_noise(rng, (mh, mw), 0.7), 0, 1)
    return blur(dens, 0.6)


def _to_gray(style: WesternStyle, dens: np.ndarray) -> np.ndarray:
    light = style.background * (1 - style.darkness * dens)
    return 1.0 - light if style.inverted else light


def render(style: WesternStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new blot exposure in this figure template."""
    h, w = size
    fpx = style.font_frac * min(h, w)
    has_lane_lab = style.lane_label_kind != "none"
    n_lab_rows = len(style.treatment_rows) if style.lane_label_kind == "plusminus" else 1
    top = int(fpx * 1.35 * n_lab_rows + fpx * 0.6) if has_lane_lab else int(0.03 * h)
    font = pil_font(style.font, int(round(fpx)))
    if style.layout == "strips":
        side_w = int(max(font.getlength(t) for t in style.strip_labels) + fpx * 1.0)
    else:
        side_w = int(fpx * 3.2) if style.mw_labels else int(0.03 * w)
    left = side_w if (style.layout == "full" or style.label_side == "left") else int(0.03 * w)
    right = side_w if (style.layout == "strips" and style.label_side == "right") else int(0.03 * w)
    if style.lane_label_kind == "plusminus":
        left = max(left, int(max(font.getlength(n) for n, _ in style.treatment_rows) + fpx))
    bottom = int(0.03 * h)
    mw = max(8, w - left - right)
    page = np.ones((h, w), np.float32)
    texts: list[tuple[str, float, float, str]] = []
    lines: list[tuple[int, int, int, int]] = []
    if style.layout == "full":
        mh = max(8, h - top - bottom)
        n_b = int(rng.integers(style.n_bands[0], style.n_bands[1] + 1))
        lo, hi = np.log(10.0), np.log(250.0)
        mws = np.exp(rng.uniform(lo, hi, n_b))
        ys = (hi - np.log(mws)) / (hi - lo) * 0.9 * mh + 0.05 * mh
        th = style.band_thickness * mh
        rows = [(float(y), float(th * rng.uniform(0.7, 1.4))) for y in ys]
        page[top:top + mh, left:left + mw] = _to_gray(style, _membrane(style, rng, mh, mw, rows))
        if style.mw_labels:
            texts.append(("kDa", left - fpx * 0.3, top - fpx * 0.2, "rs"))
            for m in MW_MARKERS:
                yy = top + (hi - np.log(m)) / (hi - lo) * 0.9 * mh + 0.05 * mh
                texts.append((str(m), left - fpx * 1.4, yy, "rm"))
                lines.append((int(left - fpx * 1.1), int(yy), int(left - fpx * 0.2), int(yy)))
        strip_boxes = [(top, mh)]
    else:
        avail = h - top - bottom
        gap = max(2, int(avail * 0.06))
        sh = max(6, (avail - gap * (style.n_strips - 1)) // style.n_strips)
        strip_boxes = []
        for k in range(style.n_strips):
            y0 = top + k * (sh + gap)
            th = style.band_thickness * 3.2 * sh
            rows = [(sh * float(rng.uniform(0.3, 0.7)), th)]
            if style.doublets[k]:
                yd = float(rng.uniform(0.28, 0.45))
                rows = [(sh * yd, th * 0.8), (sh * (yd + rng.uniform(0.15, 0.3)), th * 0.8)]
            page[y0:y0 + sh, left:left + mw] = _to_gray(style, _membrane(style, rng, sh, mw, rows))
            strip_boxes.append((y0, sh))
            if style.label_side == "left":
                texts.append((style.strip_labels[k], left - fpx * 0.5, y0 + sh / 2, "rm"))
            else:
                texts.append((style.strip_labels[k], left + mw + fpx * 0.5, y0 + sh / 2, "lm"))
    # Lane labels above the first membrane.
    if has_lane_lab:
        centres, _ = lane_centres(style.n_lanes, left + 0.04 * mw, left + mw - 0.04 * mw)
        if style.lane_label_kind == "plusminus":
            for r, (name, signs) in enumerate(style.treatment_rows):
                yy = top - fpx * 0.6 - (n_lab_rows - 1 - r) * fpx * 1.35
                texts.append((name, left - fpx * 0.5, yy, "rs"))
                texts.extend((s, float(cx), yy, "ms") for s, cx in zip(signs, centres))
        else:
            labs = [str(i + 1) for i in range(style.n_lanes)] if style.lane_label_kind == "numbers" else list(style.lane_labels)
            texts.extend((s, float(cx), top - fpx * 0.5, "ms") for s, cx in zip(labs, centres))
    tint = np.asarray(style.tint, np.float32)
    img = page[:, :, None] * tint
    img[page >= 0.9999] = 1.0  # figure background stays white
    out = to_uint8(img)
    if style.frame:
        for y0, hh in strip_boxes:
            cv2.rectangle(out, (left, y0), (left + mw - 1, y0 + hh - 1), (0, 0, 0), 1)
    for x0, y0, x1, y1 in lines:
        cv2.line(out, (x0, y0), (x1, y1), (0, 0, 0), max(1, int(fpx / 12)))
    return draw_texts(out, texts, style.font, fpx, (0, 0, 0))
