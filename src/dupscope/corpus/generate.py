"""Synthetic PDF "papers" with planted figure reuse, and the ground truth of what was planted.

Each paper has a few figures; each figure is one family of scientific images (blots,
micrographs, plots...) whose panels are *siblings*: same style, different content, the
hard negatives a reuse detector must not flag. Some figures are one composite image,
others are separate images laid out on the page. Reuse events copy a panel, edited by a
random derivation from the transform catalogue, into another paper, another figure of the
same paper, or another panel of the same figure. Every panel takes part in at most one
event, so the truth is exactly the set of derived pairs.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

PAGE_W, PAGE_H, MARGIN = 612.0, 792.0, 54.0
KINDS = ("cross_document", "same_document", "same_figure")
_WORDS = ("cells were imaged after treatment with the indicated compounds and quantified across "
          "three independent experiments representative images are shown scale bars denote "
          "protein levels were normalised to loading controls data are mean and standard error").split()


@dataclass
class CorpusConfig:
    """How big and how tricky the corpus is; the defaults make ~20 papers, ~30 events."""

    n_papers: int = 20
    figures_per_paper: tuple[int, int] = (2, 4)
    panels_per_figure: tuple[int, int] = (1, 6)
    composite_frac: float = 0.5  # multi-panel figures stored as one image
    shared_style_frac: float = 0.3  # figures whose siblings sit in another paper
    jpeg_frac: float = 0.5  # figures embedded as JPEG rather than PNG
    events: dict[str, int] = field(default_factory=lambda: {"cross_document": 18, "same_document": 6, "same_figure": 6})
    families: tuple[str, ...] = ()  # () = every generator
    panel_sizes: tuple[tuple[int, int], ...] = ((256, 256), (224, 288), (288, 224))


@dataclass
class _Figure:
    paper: int
    index: int
    family: str
    size: tuple[int, int]
    composite: bool
    jpeg: bool
    panels: list[np.ndarray] = field(default_factory=list)


@dataclass
class CorpusInfo:
    papers_dir: Path
    truth_path: Path
    n_papers: int
    n_events: int
    n_panels: int


# --------------------------------------------------------------------------- planning


def _plan(rng: np.random.Generator, cfg: CorpusConfig) -> list[_Figure]:
    from dupscope.generators import GENERATORS, siblings

    families = list(cfg.families or GENERATORS)
    figs: list[_Figure] = []
    for p in range(cfg.n_papers):
        for f in range(int(rng.integers(cfg.figures_per_paper[0], cfg.figures_per_paper[1] + 1))):
            n = int(rng.integers(cfg.panels_per_figure[0], cfg.panels_per_figure[1] + 1))
            size = cfg.panel_sizes[int(rng.integers(len(cfg.panel_sizes)))]
            fam = families[int(rng.integers(len(families)))]
            fig = _Figure(p, f, fam, size, n > 1 and rng.random() < cfg.composite_frac, rng.random() < cfg.jpeg_frac)
            fig.panels = [None] * n  # type: ignore[list-item]
            figs.append(fig)
    # Render: some figures share a style with a figure of another paper (same lab, same look).
    done: set[int] = set()
    for i, fig in enumerate(figs):
        if i in done:
            continue
        partner = None
        if rng.random() < cfg.shared_style_frac:
            options = [j for j, g in enumerate(figs) if j not in done and j != i and g.paper != fig.paper
                       and g.family == fig.family and g.size == fig.size]
            if options:
                partner = options[int(rng.integers(len(options)))]
        group = [i] if partner is None else [i, partner]
        total = sum(len(figs[j].panels) for j in group)
        imgs = siblings(fig.family, rng, n=total, size=fig.size)
        for j in group:
            k = len(figs[j].panels)
            figs[j].panels, imgs = [np.ascontiguousarray(x) for x in imgs[:k]], imgs[k:]
            done.add(j)
    return figs


def _plant(rng: np.random.Generator, figs: list[_Figure], cfg: CorpusConfig) -> list[dict[str, Any]]:
    """Choose source and target panels per event and overwrite targets with derivations."""
    from dupscope.transforms import random_derivation

    slots = [(fi, pi) for fi, f in enumerate(figs) for pi in range(len(f.panels))]
    used: set[tuple[int, int]] = set()
    events: list[dict[str, Any]] = []
    for kind in KINDS:
        for _ in range(cfg.events.get(kind, 0)):
            for _attempt in range(200):
                s = slots[int(rng.integers(len(slots)))]
                t = slots[int(rng.integers(len(slots)))]
                if s in used or t in used or s == t:
                    continue
                fs, ft = figs[s[0]], figs[t[0]]
                ok = {
                    "cross_document": fs.paper != ft.paper,
                    "same_document": fs.paper == ft.paper and s[0] != t[0],
                    "same_figure": s[0] == t[0],
                }[kind]
                if ok:
                    break
            else:
                continue
            used.update((s, t))
            d = random_derivation(figs[s[0]].panels[s[1]], rng)
            figs[t[0]].panels[t[1]] = np.ascontiguousarray(d.image)
            events.append({"kind": kind, "src": s, "dst": t, "transform": d.to_json()})
    return events


# --------------------------------------------------------------------------- rendering


def _encode(img: np.ndarray, jpeg: bool) -> bytes:
    buf = io.BytesIO()
    if jpeg:
        Image.fromarray(img).save(buf, format="JPEG", quality=92)
    else:
        Image.fromarray(img).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _fit(w: float, h: float, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The largest rect of aspect w:h centred in ``box``."""
    x0, y0, x1, y1 = box
    s = min((x1 - x0) / w, (y1 - y0) / h)
    cw, ch = w * s, h * s
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2 if n in (2, 4) else 3
    return cols, (n + cols - 1) // cols


def _composite(fig: _Figure) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Panels letterboxed into grid cells with labelled white gutters."""
    h, w = fig.size
    cols, rows = _grid(len(fig.panels))
    gut, top = 14, 18  # a label row above each panel row
    out = np.full((rows * (h + gut + top) + gut, cols * (w + gut) + gut, 3), 255, np.uint8)
    boxes = []
    for i, p in enumerate(fig.panels):
        r, c = divmod(i, cols)
        cx, cy = gut + c * (w + gut), gut + top + r * (h + gut + top)
        s = min(w / p.shape[1], h / p.shape[0])
        pw, ph = max(1, round(p.shape[1] * s)), max(1, round(p.shape[0] * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        q = cv2.resize(p, (pw, ph), interpolation=interp) if (pw, ph) != (p.shape[1], p.shape[0]) else p
        x0, y0 = cx + (w - pw) // 2, cy + (h - ph) // 2
        out[y0 : y0 + ph, x0 : x0 + pw] = q
        boxes.append((x0, y0, x0 + pw, y0 + ph))
        cv2.putText(out, chr(65 + i), (cx, cy - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out, boxes


def _text(page, y: float, rng: np.random.Generator, lines: int, size: float = 9.5) -> float:
    for _ in range(lines):
        words = [_WORDS[int(i)] for i in rng.integers(0, len(_WORDS), 14)]
        page.insert_text((MARGIN, y), " ".join(words).capitalize() + ".", fontsize=size)
        y += size * 1.45
    return y


def _render_paper(path: Path, p: int, figs: list[_Figure], rng: np.random.Generator) -> dict[tuple[int, int], dict]:
    """Write one paper; returns {(figure index, panel index): truth item} in points."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_text((MARGIN, 70), f"Synthetic study {p:03d}: effects on signalling", fontsize=15)
    y = _text(page, 100, rng, 6)
    out: dict[tuple[int, int], dict] = {}
    for fig in figs:
        cols, rows = _grid(len(fig.panels))
        h, w = fig.size
        width = PAGE_W - 2 * MARGIN if cols > 1 else 300.0
        aspect = (rows * (h + 32)) / (cols * (w + 14))
        height = min(width * aspect, 360.0)
        if y + height + 40 > PAGE_H - MARGIN:
            page = doc.new_page(width=PAGE_W, height=PAGE_H)
            y = MARGIN + 10
        box = (MARGIN, y, MARGIN + width, y + height)
        pno = doc.page_count
        fid = f"F{fig.index + 1}"
        if fig.composite:
            comp, boxes = _composite(fig)
            rect = _fit(comp.shape[1], comp.shape[0], box)
            page.insert_image(pymupdf.Rect(rect), stream=_encode(comp, fig.jpeg))
            sx = (rect[2] - rect[0]) / comp.shape[1]
            sy = (rect[3] - rect[1]) / comp.shape[0]
            for i, b in enumerate(boxes):
                bb = [rect[0] + b[0] * sx, rect[1] + b[1] * sy, rect[0] + b[2] * sx, rect[1] + b[3] * sy]
                out[(fig.index, i)] = {"page": pno, "bbox": [round(v, 2) for v in bb], "figure": fid, "panel": i}
        else:
            gut = 8.0
            cw, ch = (width - (cols - 1) * gut) / cols, (height - (rows - 1) * (gut + 10)) / rows
            for i, img in enumerate(fig.panels):
                r, c = divmod(i, cols)
                cell = (MARGIN + c * (cw + gut), y + 10 + r * (ch + gut + 10), MARGIN + c * (cw + gut) + cw,
                        y + 10 + r * (ch + gut + 10) + ch - 10)
                rect = _fit(img.shape[1], img.shape[0], cell)
                page.insert_image(pymupdf.Rect(rect), stream=_encode(img, fig.jpeg))
                if len(fig.panels) > 1:
                    page.insert_text((cell[0], cell[1] - 2), chr(65 + i), fontsize=9)
                out[(fig.index, i)] = {"page": pno, "bbox": [round(v, 2) for v in rect], "figure": fid, "panel": i}
        y += height + 14
        page.insert_text((MARGIN, y), f"Figure {fig.index + 1}. {fig.family.replace('_', ' ')} panels.", fontsize=9)
        y = _text(page, y + 16, rng, int(rng.integers(2, 6)))
    doc.save(path, garbage=3, deflate=True)
    doc.close()
    return out


# --------------------------------------------------------------------------- entry point


def generate_corpus(out_dir: str | Path, seed: int = 0, config: CorpusConfig | None = None) -> CorpusInfo:
    """Write ``papers/paper_NNN.pdf`` and ``truth.json`` under ``out_dir`` (deterministic)."""
    cfg = config or CorpusConfig()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    papers = out / "papers"
    papers.mkdir(parents=True, exist_ok=True)
    figs = _plan(rng, cfg)
    events = _plant(rng, figs, cfg)
    where: dict[tuple[int, int], dict] = {}
    sources = []
    for p in range(cfg.n_papers):
        name = f"paper_{p:03d}.pdf"
        sources.append(name)
        mine = [(fi, f) for fi, f in enumerate(figs) if f.paper == p]
        placed = _render_paper(papers / name, p, [f for _, f in mine], rng)
        for fi, f in mine:
            for pi in range(len(f.panels)):
                where[(fi, pi)] = {"source": name, **placed[(f.index, pi)]}
    truth = {
        "seed": seed,
        "config": {k: v for k, v in asdict(cfg).items()},
        "papers": sources,
        "panels": [where[k] | {"family": figs[k[0]].family, "composite": figs[k[0]].composite}
                   for k in sorted(where)],
        "events": [
            {"id": i, "kind": e["kind"], "a": where[e["src"]], "b": where[e["dst"]], "transform": e["transform"]}
            for i, e in enumerate(events)
        ],
    }
    tmp = out / ".truth.json.tmp"
    tmp.write_text(json.dumps(truth, indent=1))
    tmp.replace(out / "truth.json")
    return CorpusInfo(papers, out / "truth.json", cfg.n_papers, len(events), len(where))
