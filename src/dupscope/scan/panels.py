"""Splitting a composite figure into its panels.

Reuse is usually of one panel, pasted into another figure, so both the whole figure and
each panel are scanned. Panels are found by recursive XY-cuts along gutters of the
background colour (the layout of almost every multi-panel figure), with a fallback to
large, solid connected regions for layouts no straight cut separates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, pixel-edge convention
LIGHT_GROUND = 160  # mean grey level above which a flat ground is a page's (charts, plots)


@dataclass(frozen=True)
class PanelParams:
    """Knobs of the splitter; defaults suit figures from ~300 px to a few thousand."""

    min_side: int = 48  # a panel narrower than this is a label or a tick column
    min_area_frac: float = 0.015  # ... or smaller than this fraction of the figure
    max_panels: int = 32
    tol: int = 24  # max channel difference still counted as background (JPEG noise)
    border_tol: int = 4  # gutters are flat: a noisy border is a micrograph's background
    border_agree: float = 0.6  # fraction of the border that must be that flat colour
    gutter_frac: float = 0.004  # minimum gutter width, as a fraction of the long side
    analysis_side: int = 1200  # work on a downscaled copy above this size


def estimate_background(img: np.ndarray, params: PanelParams = PanelParams()) -> np.ndarray | None:
    """The figure's background colour, or None when the border is not mostly one colour.

    No uniform border means no gutters to cut along (a photograph, a full-bleed panel).
    """
    h, w = img.shape[:2]
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.int16)
    q = border // 8
    keys = (q[:, 0].astype(np.int32) << 10) | (q[:, 1].astype(np.int32) << 5) | q[:, 2]
    vals, counts = np.unique(keys, return_counts=True)
    mode = vals[np.argmax(counts)]
    sel = border[keys == mode]
    bg = np.median(sel, axis=0)
    agree = (np.abs(border - bg).max(axis=1) <= params.border_tol).mean()
    if agree < params.border_agree or h < 2 or w < 2:
        return None
    return bg.astype(np.int16)


def content_mask(img: np.ndarray, bg: np.ndarray, tol: int) -> np.ndarray:
    return np.abs(img.astype(np.int16) - bg).max(axis=2) > tol


def _segments(profile: np.ndarray, gutter: int) -> list[tuple[int, int]]:
    """Runs of content separated by empty runs of at least ``gutter``."""
    idx = np.flatnonzero(profile)
    if idx.size == 0:
        return []
    gaps = np.flatnonzero(np.diff(idx) > gutter)
    starts = np.concatenate([[idx[0]], idx[gaps + 1]])
    ends = np.concatenate([idx[gaps], [idx[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def _merge_strips(segs: list[tuple[int, int]], counts: np.ndarray, spans: list[int],
                  min_side: float) -> list[tuple[int, int]]:
    """Join strips too thin to be panels when they hold much of the content.

    A western-blot panel is a stack of thin strips with narrow white gaps between them:
    cut at every gap, each strip is too thin to be a panel and the whole blot is lost.
    A *strip* is a run thinner than ``min_side`` whose content spans at least three times
    its thickness across (``spans``): blot strips span their panel, while a few cells on a
    flat ground, a row of panel letters or a caption line do not, or hold little content,
    and are left alone (dropped later, as before). Strips are joined to a neighbour across
    the narrowest gap first, never across a gap of ``min_side / 2`` or more (a gutter
    between panels is wider than the gaps in a stack).
    """
    def strip(i: int) -> bool:
        s, e = segs[i]
        return e - s < min_side and spans[i] >= 3 * (e - s)

    total = float(counts.sum())
    if len(segs) < 2 or total <= 0:
        return segs
    if sum(float(counts[s:e].sum()) for i, (s, e) in enumerate(segs) if strip(i)) < 0.5 * total:
        return segs
    segs, spans = list(segs), list(spans)
    while len(segs) > 1:
        best = None  # (gap, index of the gap)
        for i in range(len(segs) - 1):
            if strip(i) or strip(i + 1):
                gap = segs[i + 1][0] - segs[i][1]
                if gap < min_side / 2 and (best is None or gap < best[0]):
                    best = (gap, i)
        if best is None:
            break
        i = best[1]
        segs[i : i + 2] = [(segs[i][0], segs[i + 1][1])]
        spans[i : i + 2] = [max(spans[i], spans[i + 1])]
    return segs


def _spans(sub: np.ndarray, segs: list[tuple[int, int]], axis: int) -> list[int]:
    """Content extent across each run (runs of rows when ``axis`` is 0)."""
    out = []
    for s, e in segs:
        band = sub[s:e] if axis == 0 else sub[:, s:e]
        idx = np.flatnonzero(band.any(axis=axis))
        out.append(int(idx[-1] - idx[0] + 1) if idx.size else 0)
    return out


def _xy_cut(mask: np.ndarray, box: Box, gutter: int, out: list[Box], min_side: float, depth: int = 0) -> None:
    x0, y0, x1, y1 = box
    sub = mask[y0:y1, x0:x1]
    # Any content pixel counts (a 1-px axis line holds a plot together); JPEG specks are
    # kept out by the mask's tolerance.
    rcount, ccount = sub.sum(axis=1), sub.sum(axis=0)
    rseg, cseg = _segments(rcount > 0, gutter), _segments(ccount > 0, gutter)
    rseg = _merge_strips(rseg, rcount, _spans(sub, rseg, 0), min_side)
    cseg = _merge_strips(cseg, ccount, _spans(sub, cseg, 1), min_side)
    if not rseg or not cseg:
        return
    # Trim to content, then cut along whichever axis has more pieces.
    tx0, tx1, ty0, ty1 = x0 + cseg[0][0], x0 + cseg[-1][1], y0 + rseg[0][0], y0 + rseg[-1][1]
    if depth > 12 or (len(rseg) == 1 and len(cseg) == 1):
        out.append((tx0, ty0, tx1, ty1))
        return
    if len(rseg) >= len(cseg):
        for s, e in rseg:
            _xy_cut(mask, (tx0, y0 + s, tx1, y0 + e), gutter, out, min_side, depth + 1)
    else:
        for s, e in cseg:
            _xy_cut(mask, (x0 + s, ty0, x0 + e, ty1), gutter, out, min_side, depth + 1)


def _stacks(boxes: list[Box], gutter: int, min_side: float) -> list[Box]:
    """Columns of panels of one width with gaps much narrower than the figure's gutters.

    A blot panel of two or three thick strips (each a panel of its own to the XY-cut):
    reuse may take one strip or the whole stack, so the stack is a candidate too. The
    strips of a stack sit closer than panels side by side do; in a plain grid the rows
    are as far apart as the columns, and nothing is stacked.
    """
    side_gaps = [c[0] - b[2] for b in boxes for c in boxes
                 if c[0] >= b[2] and min(b[3], c[3]) - max(b[1], c[1]) >= 0.5 * min(b[3] - b[1], c[3] - c[1])]
    if not side_gaps:
        return []
    max_gap = min(min_side / 2, 0.5 * min(side_gaps))
    tol = max(2, 2 * gutter)
    runs: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (b[0], b[1])):
        last = runs[-1][-1] if runs else None
        if last and abs(last[0] - b[0]) <= tol and abs(last[2] - b[2]) <= tol and 0 <= b[1] - last[3] < max_gap:
            runs[-1].append(b)
        else:
            runs.append([b])
    return [(min(b[0] for b in r), r[0][1], max(b[2] for b in r), r[-1][3]) for r in runs if len(r) >= 2]


def _components(mask: np.ndarray, gutter: int, min_side: int, min_area: float) -> list[Box]:
    """Large, solid connected regions (panels in an irregular layout)."""
    k = max(3, gutter | 1)
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if w < min_side or h < min_side or w * h < min_area:
            continue
        if area / float(w * h) < 0.5:  # sparse: a plot's strokes, a text block
            continue
        boxes.append((x, y, x + w, y + h))
    return boxes


@dataclass(frozen=True)
class _Layout:
    boxes: list[Box]  # leaves of the XY-cut big enough to be panels, in analysis pixels
    leaves: list[Box]  # every leaf of the XY-cut, panels and fragments alike
    stacks: list[Box]  # tight stacks of panels (a blot's strips), candidates as a whole too
    mask: np.ndarray
    gutter: int
    min_side: float
    min_area: float
    scale: float  # analysis pixels per figure pixel
    background: np.ndarray  # the flat colour of the gutters


def _layout(img: np.ndarray, params: PanelParams) -> _Layout | None:
    """The XY-cut of a figure on a flat background; None for a full-bleed picture."""
    h, w = img.shape[:2]
    if min(h, w) < 2 * params.min_side:
        return None
    scale = 1.0
    work = img
    if max(h, w) > params.analysis_side:
        scale = params.analysis_side / max(h, w)
        work = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    bg = estimate_background(work, params)
    if bg is None:
        return None
    mask = content_mask(work, bg, params.tol)
    wh, ww = mask.shape
    gutter = max(2, int(round(params.gutter_frac * max(wh, ww))))
    min_side = params.min_side * scale
    min_area = params.min_area_frac * wh * ww
    leaves: list[Box] = []
    _xy_cut(mask, (0, 0, ww, wh), gutter, leaves, min_side)
    boxes = [b for b in leaves if b[2] - b[0] >= min_side and b[3] - b[1] >= min_side
             and (b[2] - b[0]) * (b[3] - b[1]) >= min_area]
    stacks = [b for b in _stacks(boxes, gutter, min_side) if (b[2] - b[0]) * (b[3] - b[1]) < 0.9 * wh * ww]
    return _Layout(boxes, leaves, stacks, mask, gutter, min_side, min_area, scale, bg)


def _bands(spans: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """Cluster 1-D intervals that overlap by half the shorter one; None when bands overlap."""
    bands: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if bands:
            bs, be = bands[-1]
            if min(e, be) - max(s, bs) >= 0.5 * min(e - s, be - bs):
                bands[-1] = (min(s, bs), max(e, be))
                continue
            if s < be:  # straddles two bands: not a grid
                return None
        bands.append((s, e))
    return bands


def _grid_cells(lay: _Layout) -> list[Box]:
    """Panels of a regular grid that the XY-cut broke into fragments.

    A sparse panel on the page's ground (a faint, blurred blot: thin strips with white gaps
    between them, lane labels, a few cells) falls apart into pieces each too small to be a
    panel, so the figure seems to have a hole where it sits. When the other panels form
    rows and columns, a cell of that grid holding no panel but fragments of content is
    such a panel: the fragments centred in the cell are joined back into one box.
    """
    if len(lay.boxes) < 3:
        return []
    cols = _bands([(b[0], b[2]) for b in lay.boxes])
    rows = _bands([(b[1], b[3]) for b in lay.boxes])
    if cols is None or rows is None or len(cols) < 2 or len(rows) < 2:
        return []

    def band(v: float, bands: list[tuple[int, int]]) -> int | None:
        return next((i for i, (s, e) in enumerate(bands) if s <= v < e), None)

    taken = {(band((b[1] + b[3]) / 2, rows), band((b[0] + b[2]) / 2, cols)) for b in lay.boxes}
    have = set(lay.boxes)
    out = []
    for r, (ry0, ry1) in enumerate(rows):
        for c, (cx0, cx1) in enumerate(cols):
            if (r, c) in taken:
                continue
            parts = [b for b in lay.leaves if b not in have
                     and cx0 <= (b[0] + b[2]) / 2 < cx1 and ry0 <= (b[1] + b[3]) / 2 < ry1]
            if not parts:
                continue
            box = (min(b[0] for b in parts), min(b[1] for b in parts),
                   max(b[2] for b in parts), max(b[3] for b in parts))
            w, h = box[2] - box[0], box[3] - box[1]
            cell = (cx1 - cx0) * (ry1 - ry0)
            if w >= lay.min_side and h >= lay.min_side and w * h >= max(lay.min_area, 0.25 * cell):
                out.append(box)
    return out


def _to_figure(boxes: list[Box], scale: float, shape: tuple[int, ...]) -> list[Box]:
    if scale == 1.0:
        return boxes
    h, w = shape[:2]
    inv = 1.0 / scale
    return [
        (max(0, int(np.floor(b[0] * inv))), max(0, int(np.floor(b[1] * inv))),
         min(w, int(np.ceil(b[2] * inv))), min(h, int(np.ceil(b[3] * inv))))
        for b in boxes
    ]


def split_panels(img: np.ndarray, params: PanelParams = PanelParams()) -> list[Box]:
    """Panel boxes of a composite figure, in reading order; [] when it is one panel.

    Tight stacks of panels (a blot panel of thick strips) follow, each as one box too.
    """
    lay = _layout(img, params)
    if lay is None:
        return []
    wh, ww = lay.mask.shape
    boxes = lay.boxes + _grid_cells(lay)
    if len(boxes) < 2:
        comps = _components(lay.mask, lay.gutter, int(lay.min_side), max(lay.min_area, 0.05 * wh * ww))
        boxes = comps if len(comps) >= 2 else []
    if len(boxes) < 2:
        return []
    biggest = max((b[2] - b[0]) * (b[3] - b[1]) for b in boxes)
    if biggest >= 0.9 * wh * ww:
        return []
    boxes = sorted(boxes, key=lambda b: (b[1] // max(1, lay.gutter * 4), b[0]))[: params.max_panels]
    # Stacks come after the panels, so a panel's index does not depend on them.
    stacks = [b for b in lay.stacks if b not in boxes][: max(0, params.max_panels - len(boxes))]
    return _to_figure(boxes + stacks, lay.scale, img.shape)


def content_box(img: np.ndarray, params: PanelParams = PanelParams(),
                min_frac: float = 0.25, max_frac: float = 0.8) -> Box | None:
    """The body of a one-panel figure framed by a title, axis labels or a colour bar.

    Split out of a composite, a panel loses that frame (the XY-cut keeps only the body);
    the same panel reused as a figure of its own keeps it. Offering the body of a one-panel
    figure as a candidate too lets the two meet on equal terms. None when the figure is
    not one body on a flat ground holding ``min_frac`` to ``max_frac`` of its area, or
    when that ground is dark: cells on a black field are a picture, not a framed chart.
    """
    lay = _layout(img, params)
    if lay is None or len(lay.boxes) != 1 or float(lay.background.mean()) < LIGHT_GROUND:
        return None
    x0, y0, x1, y1 = lay.boxes[0]
    wh, ww = lay.mask.shape
    if not min_frac * wh * ww <= (x1 - x0) * (y1 - y0) <= max_frac * wh * ww:
        return None
    return _to_figure([lay.boxes[0]], lay.scale, img.shape)[0]
