"""From paths on the command line to figures and scan items (figures and their panels).

A *figure* is one picture as it appears in a source: an image file, a raster image
embedded in a PDF page, or a vector-drawn region of a page rendered to pixels. An *item*
is what gets embedded and compared: each figure, plus each of its panels. Items carry an
``origin`` from which their pixels can be re-read later (for the report), so the scan
never needs to hold every image in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from dupscope.errors import ImageLoadError
from dupscope.io import IMAGE_SUFFIXES, content_hash, dihedral_key, load_image
from dupscope.scan.panels import PanelParams, content_box, split_panels

# Bump when extraction changes, so cached per-document item lists are recomputed.
EXTRACT_VERSION = 6  # 6: items carry a rotation/flip-invariant key (dkey)
FIGURE_MAX_SIDE = 2048  # figures are analysed and embedded at most this large
MIN_FIGURE_SIDE = 64  # smaller embedded images are icons, bullets, logos (unless shown large)
MIN_FILE_SIDE = 32  # a user-given image file smaller than this is refused
BLANK_STD = 2.0  # a near-uniform picture matches every other one: not a candidate

Skipped = list[tuple[str, str]]


@dataclass(frozen=True)
class Input:
    """One document to scan: ``source`` as the user gave or we found it, ``path`` on disk."""

    source: str
    path: Path
    kind: str  # "image" | "pdf"


@dataclass
class Figure:
    figure: str  # id, unique within its document
    page: int | None
    bbox: tuple[float, float, float, float]  # in the document: PDF points or pixels
    image: np.ndarray  # uint8 RGB, at most FIGURE_MAX_SIDE
    origin: dict[str, Any]  # how to read the pixels again (see load_figure)


@dataclass
class Item:
    """A scan unit: metadata only, pixels live in the document."""

    source: str
    page: int | None
    bbox: tuple[float, float, float, float]
    panel: int | None  # None: the whole figure
    figure: str
    origin: dict[str, Any]
    pbox: tuple[int, int, int, int] | None  # panel box in the figure's pixels
    hash: str
    doc: int = -1  # document id in the store
    indexed: bool = False  # from the database rather than this scan
    extra: dict[str, Any] = field(default_factory=dict)
    dkey: str = ""  # the same for every rotation/flip of these pixels (see io.dihedral_key)

    def key(self) -> tuple:
        return (self.source, self.page or 0, self.figure, -1 if self.panel is None else self.panel)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "page": self.page,
            "bbox": [round(float(v), 2) for v in self.bbox],
            "panel": self.panel,
        }


# --------------------------------------------------------------------------- discovery


def discover(paths: list[str | Path], skipped: Skipped) -> list[Input]:
    """Expand folders (recursively, sorted) into image files and PDFs; keep given order."""
    out: list[Input] = []
    seen: set[Path] = set()

    def add(source: str, p: Path, explicit: bool) -> None:
        suffix = p.suffix.lower()
        if suffix == ".pdf":
            kind = "pdf"
        elif suffix in IMAGE_SUFFIXES or explicit:
            kind = "image"  # an explicit file with an odd suffix: let the decoder decide
        else:
            return
        rp = p.resolve()
        if rp in seen:
            return
        seen.add(rp)
        out.append(Input(source, p, kind))

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in files if not f.startswith("."))
            for f in sorted(found):
                add(str(f), f, explicit=False)
        elif p.is_file():
            add(str(raw), p, explicit=True)
        elif not p.exists():
            skipped.append((str(raw), "file not found"))
        else:
            skipped.append((str(raw), "not a regular file or folder"))
    return out


# --------------------------------------------------------------------------- figures


def _is_blank(img: np.ndarray) -> bool:
    small = img[:: max(1, img.shape[0] // 128), :: max(1, img.shape[1] // 128)]
    return float(small.std()) < BLANK_STD


def _exif_size(path: Path) -> tuple[int, int] | None:
    """The displayed (w, h) of an image file, read from its header only."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            try:
                orient = im.getexif().get(0x0112, 1)
            except Exception:  # noqa: BLE001 - a broken EXIF block must not fail the file
                orient = 1
            return (h, w) if orient in (5, 6, 7, 8) else (w, h)
    except Exception:  # noqa: BLE001 - load_image gives the real error next
        return None


def image_figures(inp: Input, skipped: Skipped) -> Iterator[Figure]:
    """An image file is one figure; its bbox is the full image in original pixels."""
    img = load_image(inp.path, max_side=FIGURE_MAX_SIDE)  # raises ImageLoadError
    size = _exif_size(inp.path) or (img.shape[1], img.shape[0])
    if min(size) < MIN_FILE_SIDE:
        raise ImageLoadError(inp.source, f"image is {size[0]}x{size[1]} pixels, too small to compare")
    if _is_blank(img):
        raise ImageLoadError(inp.source, "image is blank (uniform colour)")
    yield Figure("image", None, (0.0, 0.0, float(size[0]), float(size[1])), img, {"type": "image"})


def iter_figures(inp: Input, skipped: Skipped) -> Iterator[Figure]:
    if inp.kind == "pdf":
        from dupscope.scan.pdf import pdf_figures

        yield from pdf_figures(inp, skipped)
    else:
        yield from image_figures(inp, skipped)


def load_figure(path: Path, origin: dict[str, Any]) -> np.ndarray:
    """Re-read one figure's pixels from its document (for thumbnails and evidence)."""
    if origin["type"] == "image":
        return load_image(path, max_side=FIGURE_MAX_SIDE)
    from dupscope.scan.pdf import load_pdf_figure

    return load_pdf_figure(path, origin)


# --------------------------------------------------------------------------- items


def _panel_bbox(fig: Figure, box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """Map a panel's pixel box to the figure's document coordinates."""
    h, w = fig.image.shape[:2]
    x0, y0, x1, y1 = fig.bbox
    sx, sy = (x1 - x0) / w, (y1 - y0) / h
    return (x0 + box[0] * sx, y0 + box[1] * sy, x0 + box[2] * sx, y0 + box[3] * sy)


def figure_items(
    fig: Figure, source: str, params: PanelParams = PanelParams()
) -> list[tuple[Item, np.ndarray]]:
    """The figure itself and each of its panels (or its framed body), with their pixels."""
    out = [(Item(source, fig.page, fig.bbox, None, fig.figure, fig.origin, None, content_hash(fig.image),
                 dkey=dihedral_key(fig.image)), fig.image)]
    boxes = split_panels(fig.image, params)
    if not boxes:
        body = content_box(fig.image, params)
        boxes = [body] if body is not None else []
    for i, box in enumerate(boxes):
        crop = np.ascontiguousarray(fig.image[box[1] : box[3], box[0] : box[2]])
        if _is_blank(crop):
            continue
        item = Item(source, fig.page, _panel_bbox(fig, box), i, fig.figure, fig.origin, box, content_hash(crop),
                    dkey=dihedral_key(crop))
        out.append((item, crop))
    return out


def item_pixels(path: Path, item: Item, figure: np.ndarray | None = None) -> np.ndarray:
    """An item's pixels, re-read from its document (or cut from ``figure`` if given)."""
    img = figure if figure is not None else load_figure(path, item.origin)
    if item.pbox is not None:
        x0, y0, x1, y1 = item.pbox
        img = img[y0:y1, x0:x1]
    return np.ascontiguousarray(img)
