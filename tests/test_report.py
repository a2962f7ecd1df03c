"""The HTML report: self-contained, robust to odd names, and rendering in a real browser."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
from PIL import Image

from dupscope.report import build_entries, render_html, write_report


def _match(i: int, p: float, kind: str, src_a: str = "paper_a.pdf", src_b: str = "paper_b.pdf") -> dict:
    return {"a": {"source": src_a, "page": 3, "bbox": [72.0, 100.5, 272.0, 260.0], "panel": i % 3 or None},
            "b": {"source": src_b, "page": None, "bbox": [0.0, 0.0, 640.0, 480.0], "panel": None},
            "probability": p, "kind": kind, "exact": p == 1.0}


def _img(seed: int) -> np.ndarray:
    r = np.random.default_rng(seed)
    img = np.full((180, 240, 3), 20, np.uint8)
    for _ in range(30):
        y, x = r.integers(0, 170), r.integers(0, 230)
        img[y : y + r.integers(5, 40), x : x + r.integers(5, 40)] = r.integers(40, 255, 3)
    return img


def _evidence(a: np.ndarray, b: np.ndarray) -> bytes:
    both = np.concatenate([a[:120, :120], b[:120, :120]], axis=1)
    buf = io.BytesIO()
    Image.fromarray(both).save(buf, format="PNG")
    return buf.getvalue()


def _report(tmp_path, evidence_fn=_evidence) -> tuple:
    kinds = ["cross_document", "same_document", "same_figure"]
    matches = [_match(i, p, kinds[i % 3]) for i, p in enumerate([1.0, 0.97, 0.91, 0.84, 0.72])]
    matches[1]["a"]["source"] = "evil</script><b>x</b>.pdf"
    pairs = [(("a", i), ("b", i)) for i in range(len(matches))]
    pixels = lambda key: None if key == ("b", 4) else _img(hash(key) % 1000)  # noqa: E731
    path = write_report(matches, pairs, pixels, tmp_path / "report.html",
                        summary={"documents": 12, "items": 340, "candidates": 2900, "matches": 5, "skipped": 1,
                                 "threshold": 0.7, "model": "tiny", "seconds": 3.2},
                        skipped=[("broken.pdf", "cannot open PDF (format error)")], evidence_fn=evidence_fn)
    return path, matches


def test_report_is_self_contained_and_safe(tmp_path):
    path, matches = _report(tmp_path)
    html = path.read_text()
    assert html.count("data:image/jpeg;base64,") == 9  # one preview could not be loaded
    assert html.count("data:image/png;base64,") == 4  # evidence only where both previews exist
    assert not re.search(r"(src|href)=\"?https?:", html) and "<link" not in html
    assert "evil</script>" not in html  # escaped inside the JSON island
    blob = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(blob)
    assert [m["p"] for m in data["matches"]] == [m["probability"] for m in matches]
    assert data["matches"][1]["a"]["source"] == "evil</script><b>x</b>.pdf"


def test_evidence_fn_failure_leaves_empty_slot():
    def boom(a, b):
        raise RuntimeError("no keypoints")

    entries = build_entries([_match(0, 0.9, "cross_document")], [(1, 2)], lambda k: _img(k), evidence_fn=boom)
    assert entries[0].evidence is None and entries[0].thumb_a and entries[0].thumb_b
    assert '"ev":null' in render_html(entries)  # the slot is drawn empty by the page's script


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _run_chromium(exe: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=90,
        )


def test_report_renders_in_headless_chromium(tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    path, matches = _report(tmp_path)
    shot = tmp_path / "report.png"
    r = _run_chromium(exe, f"--screenshot={shot}", "--window-size=1280,900", path.as_uri())
    assert shot.is_file(), r.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (900, 1280)
    assert img.std() > 20  # not a blank page: header, cards and thumbnails drawn
    assert (np.abs(img[:60].astype(int) - [20, 33, 61]).max(axis=2) < 10).mean() > 0.5  # the navy header
    dom = _run_chromium(exe, "--dump-dom", path.as_uri()).stdout
    assert dom.count('class="match"') == len(matches)  # the script ran and drew every card
    assert f"Showing {len(matches)} of {len(matches)}" in dom
    assert "Skipped inputs (1)" in dom
