"""A self-contained HTML report of scan matches, for an editor to review.

One file, no network: thumbnails are embedded as base64 JPEG, CSS and JS inline, so it
can be mailed or opened from disk. Each match has a slot for an *evidence* picture (a
PNG from ``evidence_fn(a_img, b_img)``, e.g. dupscope.evidence's keypoint overlay).
"""

from dupscope.report.html import ReportEntry, build_entries, render_html, thumbnail_jpeg, write_report

__all__ = ["ReportEntry", "build_entries", "render_html", "thumbnail_jpeg", "write_report"]
