"""Rendering matches into one HTML file (see the package docstring)."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

_HERE = Path(__file__).parent

EvidenceFn = Callable[[np.ndarray, np.ndarray], "bytes | str | Path | None"]


@dataclass
class ReportEntry:
    """One match as shown: its JSON record, two thumbnails, an optional evidence PNG."""

    match: dict[str, Any]
    thumb_a: bytes | None = None  # JPEG
    thumb_b: bytes | None = None
    evidence: bytes | None = None  # PNG


def thumbnail_jpeg(img: np.ndarray, side: int = 320, quality: int = 85) -> bytes:
    """A JPEG no larger than ``side`` on its long side (small enough to embed hundreds)."""
    im = Image.fromarray(np.ascontiguousarray(img))
    im.thumbnail((side, side), Image.LANCZOS)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _evidence_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    p = Path(value)
    return p.read_bytes() if p.is_file() else None


def build_entries(
    matches: Sequence[dict[str, Any]],
    pairs: Sequence[tuple[Any, Any]],
    pixels: Callable[[Any], np.ndarray | None],
    evidence_fn: EvidenceFn | None = None,
    thumb_side: int = 320,
    progress: Callable[[int], Any] | None = None,
) -> list[ReportEntry]:
    """Thumbnails (and evidence) for each match; ``pairs`` are the items given to ``pixels``.

    A failing loader or evidence function leaves an empty slot rather than failing.
    """
    thumbs: dict[int, tuple[np.ndarray | None, bytes | None]] = {}

    def get(item: Any) -> tuple[np.ndarray | None, bytes | None]:
        key = id(item)
        if key not in thumbs:
            try:
                img = pixels(item)
            except Exception:  # noqa: BLE001
                img = None
            thumbs[key] = (img if evidence_fn else None, None if img is None else thumbnail_jpeg(img, thumb_side))
        return thumbs[key]

    entries = []
    for m, (a, b) in zip(matches, pairs):
        ia, ta = get(a)
        ib, tb = get(b)
        ev = None
        if evidence_fn is not None and ia is not None and ib is not None:
            try:
                ev = _evidence_bytes(evidence_fn(ia, ib))
            except Exception:  # noqa: BLE001 - evidence is a bonus, never a failure
                ev = None
        entries.append(ReportEntry(m, ta, tb, ev))
        if progress:
            progress(1)
    return entries


def _b64(data: bytes | None, mime: str) -> str | None:
    return None if data is None else f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _fmt_side(d: dict[str, Any]) -> dict[str, Any]:
    bbox = d.get("bbox") or []
    unit = "pt" if d.get("page") is not None else "px"
    return {
        "source": d.get("source", ""),
        "name": os.path.basename(str(d.get("source", ""))) or str(d.get("source", "")),
        "page": d.get("page"),
        "panel": d.get("panel"),
        "bbox": " ".join(f"{v:.0f}" for v in bbox) + f" {unit}" if bbox else "",
        "db": bool(d.get("db", False)),
    }


def render_html(
    entries: Sequence[ReportEntry],
    summary: dict[str, Any] | None = None,
    skipped: Sequence[tuple[str, str]] = (),
    total_matches: int | None = None,
    title: str = "dupscope report",
) -> str:
    """The report page as a string; data in a JSON island, rendered by inline JS."""
    data = []
    for i, e in enumerate(entries):
        m = e.match
        data.append({
            "id": i,
            "p": float(m.get("probability", 0.0)),
            "kind": m.get("kind", ""),
            "exact": bool(m.get("exact", False)),
            "a": _fmt_side(m.get("a", {})),
            "b": _fmt_side(m.get("b", {})),
            "ta": _b64(e.thumb_a, "image/jpeg"),
            "tb": _b64(e.thumb_b, "image/jpeg"),
            "ev": _b64(e.evidence, "image/png"),
        })
    payload = {
        "title": title,
        "summary": summary or {},
        "generated": time.strftime("%Y-%m-%d %H:%M"),
        "total": len(entries) if total_matches is None else int(total_matches),
        "matches": data,
        "skipped": [[str(s), str(r)] for s, r in skipped],
    }
    # "</" must not appear raw inside a <script> element.
    blob = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    css = (_HERE / "style.css").read_text()
    js = (_HERE / "report.js").read_text()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>"
        "<noscript><p class=\"noscript\">This report needs JavaScript to display matches.</p></noscript>"
        "<div id=\"app\"></div>"
        f"<script type=\"application/json\" id=\"data\">{blob}</script>"
        f"<script>{js}</script></body></html>\n"
    )


def write_report(
    matches: Sequence[dict[str, Any]],
    pairs: Sequence[tuple[Any, Any]],
    pixels: Callable[[Any], np.ndarray | None],
    path: str | Path,
    summary: dict[str, Any] | None = None,
    skipped: Sequence[tuple[str, str]] = (),
    evidence_fn: EvidenceFn | None = None,
    total_matches: int | None = None,
    progress: Callable[[int], Any] | None = None,
    title: str = "dupscope report",
) -> Path:
    """Build thumbnails and write the report atomically (temp file + os.replace)."""
    entries = build_entries(matches, pairs, pixels, evidence_fn, progress=progress)
    text = render_html(entries, summary, skipped, total_matches, title)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
