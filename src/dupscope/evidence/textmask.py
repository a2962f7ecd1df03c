"""Where is rendered text? A cheap glyph-row detector used to silence font keypoints.

Why: two *distinct* charts from the same lab share fonts, tick labels and axis titles at
the same positions, so SIFT finds many geometrically consistent matches between them
(an identity transform supported only by the template). Dropping keypoints that sit on
text removes that false support while leaving data marks (lines, dots, bars, cells).

How: text is *crisp* (near-binary ink on a flat background), made of *thin strokes*
(stroke width small compared with the glyph height) and laid out in *rows* of
similar-height components with small gaps. Fluorescent cells, blot bands and dots are
filled blobs (wide strokes) or blurry, so they rarely pass all three tests.
"""

from __future__ import annotations

import cv2
import numpy as np

# Glyph height range in pixels at the resolution the mask is computed on.
_MIN_H, _MAX_H = 4, 48
_INK_CONTRAST = 60  # grey levels between ink and the local background


def _glyph_candidates(gray: np.ndarray, dark: bool) -> np.ndarray:
    """Components of crisp ink of one polarity, as an (N, 4) array of boxes x, y, w, h."""
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
    if dark:
        hat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, k)
    else:
        hat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, k)
    ink = (hat >= _INK_CONTRAST).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return np.zeros((0, 4), np.int32)
    stats = stats[1:]
    x, y, w, h, area = stats.T
    ok = (h >= _MIN_H) & (h <= _MAX_H) & (w <= 3 * h + 2) & (w >= 1) & (area >= 6)
    fill = area / np.maximum(w * h, 1)
    ok &= fill <= 0.85  # glyphs are not solid rectangles (markers, bars are)
    if not ok.any():
        return np.zeros((0, 4), np.int32)
    # Stroke width: the largest inscribed radius of a glyph is a few pixels whatever its
    # height; a filled blob of the same height has a radius near h/2.
    dist = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    on = ink > 0
    radius = np.zeros(n, np.float64)
    np.maximum.at(radius, labels[on], dist[on])
    radius = radius[1:]
    idx = np.flatnonzero(ok)
    keep = idx[radius[idx] <= np.maximum(2.6, 0.22 * h[idx])]
    if len(keep) == 0:
        return np.zeros((0, 4), np.int32)
    return np.stack([x[keep], y[keep], w[keep], h[keep]], axis=1).astype(np.int32)


def _rows(boxes: np.ndarray) -> list[list[int]]:
    """Group glyph boxes into rows (either horizontal or vertical text)."""
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    x, y, w, h = boxes.T.astype(np.float64)
    cx, cy = x + w / 2, y + h / 2
    for i in range(n):
        # Horizontal neighbours: similar height, vertically overlapping, small gap.
        hh = np.maximum(h[i], h)
        gap_x = np.maximum(x - (x[i] + w[i]), x[i] - (x + w))
        horiz = (np.abs(cy - cy[i]) <= 0.35 * hh) & (gap_x <= 0.8 * hh) & (
            np.minimum(h, h[i]) >= 0.4 * hh
        )
        # Vertical text (rotated y-axis labels): the same with axes swapped.
        ww = np.maximum(w[i], w)
        gap_y = np.maximum(y - (y[i] + h[i]), y[i] - (y + h))
        vert = (np.abs(cx - cx[i]) <= 0.35 * ww) & (gap_y <= 0.8 * ww) & (
            np.minimum(w, w[i]) >= 0.4 * ww
        ) & (ww >= _MIN_H)
        for j in np.flatnonzero(horiz | vert):
            if j != i:
                parent[find(int(j))] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def text_mask(gray: np.ndarray, pad: int = 3) -> np.ndarray:
    """uint8 mask (255 = text) of glyph rows with at least two glyphs.

    A lone component is left unmasked: it is as likely to be a data mark as a glyph.
    """
    gray = np.ascontiguousarray(gray)
    mask = np.zeros(gray.shape, np.uint8)
    for dark in (True, False):
        boxes = _glyph_candidates(gray, dark)
        if len(boxes) == 0 or len(boxes) > 1500:  # none, or a texture rather than text
            continue
        text = np.zeros(len(boxes), bool)
        for grp in _rows(boxes):
            if len(grp) < 2:
                continue
            hs = boxes[grp, 3]
            # A row whose glyphs vary wildly in height is more likely texture.
            if len(grp) >= 3 and np.std(hs) > 0.6 * np.mean(hs) + 1:
                continue
            text[grp] = True
        text |= _aligned_labels(boxes)
        for x, y, w, h in boxes[text]:
            cv2.rectangle(mask, (int(x) - pad, int(y) - pad),
                          (int(x + w) + pad, int(y + h) + pad), 255, -1)
    return mask


def _aligned_labels(boxes: np.ndarray) -> np.ndarray:
    """Lone glyphs that are tick or lane labels: three or more of the same height on one
    baseline (x-axis ticks, lane numbers) or centred in one column (y-axis ticks)."""
    x, y, w, h = boxes.T.astype(np.float64)
    cx, cy = x + w / 2, y + h / 2
    bottom = y + h
    same_h = np.abs(h[:, None] - h[None, :]) <= 0.2 * h[:, None] + 1
    row = same_h & (np.abs(bottom[:, None] - bottom[None, :]) <= 0.15 * h[:, None] + 1)
    col = same_h & (np.abs(cx[:, None] - cx[None, :]) <= 0.3 * w[:, None] + 1) & (
        np.abs(cy[:, None] - cy[None, :]) <= 6 * h[:, None])
    return (row.sum(axis=1) >= 3) | (col.sum(axis=1) >= 3)
