"""Figures in a PDF: embedded raster images and vector-drawn figure regions.

Raster images are decoded with their soft mask and converted to RGB from any colour
space (JPX, CMYK, indexed, ICC all go through MuPDF). Each placement on a page is its
own figure with its bbox in PDF points. Vector figures (plots drawn as paths) are found
by clustering the page's drawings and are rendered from their page region.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, Iterator

import cv2
import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pymupdf

from dupscope.errors import ImageLoadError
from dupscope.io import as_rgb_array
from dupscope.scan.extract import (
    FIGURE_MAX_SIDE,
    MIN_FIGURE_SIDE,
    Figure,
    Input,
    Skipped,
    _is_blank,
)

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

MIN_PLACED_PT = 36.0  # an image shown smaller than half an inch is decoration
# A low-resolution raster shown large is a panel, not an icon: a reused panel shrunk to
# ~50 px and enlarged again on the page must not be filtered out with the logos.
SMALL_RASTER_SIDE = 32
SMALL_RASTER_MIN_PT = 72.0
DECORATION_PAGES = 4  # an image on this many pages is a logo or running header
VECTOR_DPI = 150
VECTOR_MIN_PT = 60.0
VECTOR_MIN_DRAWINGS = 6
MAX_IMAGE_PIXELS = 180_000_000


def _open(path) -> "pymupdf.Document":
    try:
        doc = pymupdf.open(path)
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types
        raise ImageLoadError(path, f"cannot open PDF ({exc})") from exc
    if not doc.is_pdf:
        doc.close()
        raise ImageLoadError(path, "not a PDF document")
    if doc.needs_pass:
        doc.close()
        raise ImageLoadError(path, "PDF is encrypted (password required)")
    return doc


def _pixmap_array(pix: "pymupdf.Pixmap") -> np.ndarray:
    arr = np.frombuffer(pix.samples, dtype=np.uint8)
    return arr.reshape(pix.height, pix.width, pix.n)


def raster_image(doc: "pymupdf.Document", xref: int, smask: int = 0) -> np.ndarray:
    """Decode image ``xref`` to uint8 RGB, alpha (soft mask) composited on white."""
    pix = pymupdf.Pixmap(doc, xref)
    if pix.width * pix.height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image is {pix.width}x{pix.height}, above the pixel limit")
    # Shrink huge images early: halves each side per step, cheap and memory-safe.
    steps = 0
    while max(pix.width, pix.height) >> steps > 2 * FIGURE_MAX_SIDE:
        steps += 1
    if steps:
        pix.shrink(steps)
    cs = pix.colorspace
    if cs is None or cs.n not in (1, 3) or (cs.n == 3 and cs.name not in ("DeviceRGB", "RGB")):
        base = pymupdf.Pixmap(pix, 0) if pix.alpha else pix
        pix = pymupdf.Pixmap(pymupdf.csRGB, base)
    if smask and not pix.alpha:
        try:
            mask = pymupdf.Pixmap(doc, smask)
            if steps:
                mask.shrink(steps)
            if (mask.width, mask.height) == (pix.width, pix.height) and mask.n == 1:
                pix = pymupdf.Pixmap(pix, mask)
        except Exception:  # noqa: BLE001 - an unreadable mask: keep the opaque image
            pass
    img = as_rgb_array(_pixmap_array(pix))
    if max(img.shape[:2]) > FIGURE_MAX_SIDE:
        s = FIGURE_MAX_SIDE / max(img.shape[:2])
        img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def render_region(page: "pymupdf.Page", clip: tuple[float, float, float, float], dpi: int = VECTOR_DPI) -> np.ndarray:
    rect = pymupdf.Rect(clip)
    dpi = min(dpi, int(FIGURE_MAX_SIDE * 72 / max(rect.width, rect.height, 1)))
    pix = page.get_pixmap(clip=rect, dpi=max(dpi, 36), alpha=False, colorspace=pymupdf.csRGB)
    return np.ascontiguousarray(_pixmap_array(pix)[:, :, :3])


def vector_regions(
    page: "pymupdf.Page", raster_rects: list["pymupdf.Rect"], cell: float = 2.0, margin: float = 6.0
) -> list[tuple[float, float, float, float]]:
    """Cluster the page's drawings into figure regions, ignoring rules, boxes and frames.

    Drawings are painted onto a coarse grid (``cell`` points) grown by ``margin``, so
    clustering is linear in the number of paths (scatter plots have thousands).
    """
    try:
        drawings = page.get_drawings()
    except Exception:  # noqa: BLE001 - a broken content stream: no vector figures
        return []
    if len(drawings) < VECTOR_MIN_DRAWINGS:
        return []
    prect = page.rect
    gw, gh = int(prect.width / cell) + 2, int(prect.height / cell) + 2
    grid = np.zeros((gh, gw), np.uint8)
    centres = []
    page_area = max(prect.width * prect.height, 1.0)
    for d in drawings:
        r = d.get("rect")
        if r is None or not r.is_valid or r.is_infinite:
            continue
        r = r & prect
        if r.is_empty and (r.width <= 0 and r.height <= 0):
            continue
        if r.width * r.height > 0.5 * page_area:  # page background or frame
            continue
        x0 = int(max(0, (r.x0 - prect.x0 - margin) / cell))
        y0 = int(max(0, (r.y0 - prect.y0 - margin) / cell))
        x1 = int(min(gw, (r.x1 - prect.x0 + margin) / cell + 1))
        y1 = int(min(gh, (r.y1 - prect.y0 + margin) / cell + 1))
        grid[y0:y1, x0:x1] = 1
        centres.append(((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2))
    if not centres:
        return []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
    counts = Counter()
    for cx, cy in centres:
        gx = min(gw - 1, max(0, int((cx - prect.x0) / cell)))
        gy = min(gh - 1, max(0, int((cy - prect.y0) / cell)))
        counts[int(labels[gy, gx])] += 1
    regions = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        r = pymupdf.Rect(
            prect.x0 + x * cell + margin, prect.y0 + y * cell + margin,
            prect.x0 + (x + w) * cell - margin, prect.y0 + (y + h) * cell - margin,
        ) & prect
        if r.width < VECTOR_MIN_PT or r.height < VECTOR_MIN_PT or counts[i] < VECTOR_MIN_DRAWINGS:
            continue
        if r.width * r.height > 0.9 * page_area:
            continue
        covered = sum((r & q).get_area() for q in raster_rects)
        if covered > 0.5 * r.get_area():  # frames and annotations around a raster image
            continue
        regions.append((round(r.x0, 2), round(r.y0, 2), round(r.x1, 2), round(r.y1, 2)))
    return sorted(regions, key=lambda b: (b[1], b[0]))


def pdf_figures(inp: Input, skipped: Skipped) -> Iterator[Figure]:
    """Every raster image placement and vector figure of the PDF, page by page."""
    doc = _open(inp.path)
    try:
        pages_of: dict[int, set[int]] = {}
        for pno in range(doc.page_count):
            try:
                for info in doc.get_page_images(pno, full=True):
                    pages_of.setdefault(info[0], set()).add(pno)
            except Exception:  # noqa: BLE001
                pass
        decorative = {x for x, pages in pages_of.items() if len(pages) >= DECORATION_PAGES}
        for pno in range(doc.page_count):
            try:
                page = doc[pno]
                infos = page.get_images(full=True)
            except Exception as exc:  # noqa: BLE001
                skipped.append((inp.source, f"page {pno + 1}: unreadable page ({exc})"))
                continue
            raster_rects: list[pymupdf.Rect] = []
            done: set[int] = set()
            for info in infos:
                xref, smask, width, height = info[0], info[1], info[2], info[3]
                if xref in done:
                    continue
                done.add(xref)
                try:
                    rects = [r for r in page.get_image_rects(xref) if r.is_valid and not r.is_empty]
                except Exception:  # noqa: BLE001
                    rects = []
                raster_rects.extend(rects)
                if xref in decorative or min(width, height) < SMALL_RASTER_SIDE:
                    continue
                min_pt = MIN_PLACED_PT if min(width, height) >= MIN_FIGURE_SIDE else SMALL_RASTER_MIN_PT
                rects = [r for r in rects if min(r.width, r.height) >= min_pt]
                if not rects:
                    continue
                try:
                    img = raster_image(doc, xref, smask)
                except Exception as exc:  # noqa: BLE001 - record, carry on with the rest
                    skipped.append((inp.source, f"page {pno + 1}, image xref {xref}: cannot decode ({exc})"))
                    continue
                if min(img.shape[:2]) < 16 or _is_blank(img):
                    continue
                for j, r in enumerate(rects):
                    origin = {"type": "raster", "page": pno + 1, "xref": xref, "smask": smask}
                    bbox = (round(r.x0, 2), round(r.y0, 2), round(r.x1, 2), round(r.y1, 2))
                    yield Figure(f"p{pno + 1}-x{xref}-{j}", pno + 1, bbox, img, origin)
            for i, clip in enumerate(vector_regions(page, raster_rects)):
                try:
                    img = render_region(page, clip)
                except Exception as exc:  # noqa: BLE001
                    skipped.append((inp.source, f"page {pno + 1}: cannot render vector figure ({exc})"))
                    continue
                if _is_blank(img):
                    continue
                origin = {"type": "vector", "page": pno + 1, "clip": list(clip), "dpi": VECTOR_DPI}
                yield Figure(f"p{pno + 1}-v{i}", pno + 1, clip, img, origin)
    finally:
        doc.close()


def load_pdf_figure(path, origin: dict[str, Any]) -> np.ndarray:
    doc = _open(path)
    try:
        if origin["type"] == "raster":
            return raster_image(doc, int(origin["xref"]), int(origin.get("smask", 0)))
        if origin["type"] == "vector":
            return render_region(doc[int(origin["page"]) - 1], tuple(origin["clip"]), int(origin["dpi"]))
        raise ValueError(f"unknown figure origin {origin['type']!r}")
    finally:
        doc.close()
