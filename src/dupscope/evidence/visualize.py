"""One PNG an editor can read: matches, the aligned overlay and where the pixels differ.

Top row: A and B side by side with inlier match lines. Bottom row: B warped onto A's
frame blended with A (A in magenta, B in green: grey where they agree) and a heat map of
the absolute difference after the fitted photometric change (dark = identical).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dupscope.evidence.verify import GeometricEvidence
from dupscope.io import load_image

PANEL = 384  # height of each panel row in the output


def _fit_height(img: np.ndarray, h: int) -> tuple[np.ndarray, float]:
    s = h / img.shape[0]
    w = max(1, round(img.shape[1] * s))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR), s


def _label(img: np.ndarray, text: str) -> None:
    cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)


def _describe(ev: GeometricEvidence) -> str:
    if not ev.found:
        return f"no derivation found (inliers={ev.inliers}, score={ev.score:.2f})"
    parts = ["B from A" if ev.derived == "b" else "A from B",
             f"rot={ev.rotation_deg:g}", f"mirror={'yes' if ev.mirrored else 'no'}", f"scale={ev.scale:.3g}"]
    if ev.grayscale:
        parts.append("grayscale")
    if ev.inverted:
        parts.append("inverted")
    parts.append(f"inliers={ev.inliers} score={ev.score:.2f}")
    return "  ".join(parts)


def visualize(a, b, evidence: GeometricEvidence, out_path: str | Path) -> Path:
    """Write the evidence figure for pair (a, b) to ``out_path`` (PNG); returns the path."""
    ra, rb = load_image(a), load_image(b)
    pa, sa = _fit_height(ra, PANEL)
    pb, sb = _fit_height(rb, PANEL)
    gap = 10
    top = np.full((PANEL, pa.shape[1] + gap + pb.shape[1], 3), 255, np.uint8)
    top[:, : pa.shape[1]] = pa
    top[:, pa.shape[1] + gap:] = pb
    off = pa.shape[1] + gap
    rng = np.random.default_rng(0)
    n = len(evidence.points_a)
    show = rng.choice(n, size=min(n, 150), replace=False) if n else []
    for i in show:
        (xa, ya), (xb, yb) = evidence.points_a[i], evidence.points_b[i]
        col = tuple(int(c) for c in rng.integers(60, 255, 3))
        p1 = (int(round((xa + 0.5) * sa - 0.5)), int(round((ya + 0.5) * sa - 0.5)))
        p2 = (int(round((xb + 0.5) * sb - 0.5)) + off, int(round((yb + 0.5) * sb - 0.5)))
        cv2.line(top, p1, p2, col, 1, cv2.LINE_AA)
        cv2.circle(top, p1, 3, col, 1, cv2.LINE_AA)
        cv2.circle(top, p2, 3, col, 1, cv2.LINE_AA)
    _label(top, "A | B  (inlier matches)")

    bottom_w = top.shape[1]
    m3 = evidence.matrix3()
    if m3 is not None:
        # Warp B into A's frame (at the panel scale of A).
        S = np.diag([sa, sa, 1.0])
        S[:2, 2] = 0.5 * sa - 0.5
        m_panel = m3 @ np.linalg.inv(S)  # panel-A coords -> B original coords
        warped = cv2.warpAffine(rb, m_panel[:2], (pa.shape[1], PANEL),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=(0, 0, 0))
        valid = cv2.warpAffine(np.full(rb.shape[:2], 255, np.uint8), m_panel[:2], (pa.shape[1], PANEL),
                               flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
        ga = cv2.cvtColor(pa, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gb = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY).astype(np.float32)
        if evidence.inverted:
            gb = 255.0 - gb
        gb = (gb - (evidence.brightness or 0.0)) / max(evidence.contrast or 1.0, 1e-3)
        overlay = np.stack([ga, np.where(valid, gb, ga), ga], axis=2)
        overlay = np.clip(overlay, 0, 255).astype(np.uint8)
        overlay[~valid] = (overlay[~valid] * 0.4).astype(np.uint8)
        diff = np.abs(cv2.GaussianBlur(ga, (0, 0), 1.0) - cv2.GaussianBlur(gb, (0, 0), 1.0))
        diff = np.clip(diff * 3.0, 0, 255).astype(np.uint8)
        heat = cv2.cvtColor(cv2.applyColorMap(diff, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        heat[~valid] = 40
        _label(overlay, "overlay: A magenta, B->A green")
        _label(heat, "|A - B->A| after photometric fit")
        bottom = np.full((PANEL, max(bottom_w, 2 * pa.shape[1] + gap), 3), 255, np.uint8)
        bottom[:, : pa.shape[1]] = overlay
        bottom[:, pa.shape[1] + gap: 2 * pa.shape[1] + gap] = heat
    else:
        bottom = np.full((60, bottom_w, 3), 255, np.uint8)
    width = max(top.shape[1], bottom.shape[1])
    banner = np.full((28, width, 3), 255, np.uint8)
    cv2.putText(banner, _describe(evidence), (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    rows = []
    for r in (banner, top, bottom):
        pad = np.full((r.shape[0], width, 3), 255, np.uint8)
        pad[:, : r.shape[1]] = r
        rows.append(pad)
    canvas = np.vstack([rows[0], rows[1], np.full((gap, width, 3), 255, np.uint8), rows[2]])
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {out}")
    return out


def evidence_png(a, b) -> bytes | None:
    """The evidence figure of a pair as PNG bytes (the scan report's per-match picture)."""
    import tempfile

    from dupscope.evidence.verify import verify_pair

    ev = verify_pair(a, b)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evidence.png"
        visualize(a, b, ev, path)
        return path.read_bytes()
