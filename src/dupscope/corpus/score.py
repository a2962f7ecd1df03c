"""Scoring a scan's matches.json against a corpus's truth.json.

An event is *found* when a reported match links its two planted panels, in either order.
A reported item stands for a planted panel when it is in the same source and page and
their boxes overlap: the reported box covers at least half the planted panel (the panel
itself, or the whole figure containing it), or lies at least half inside it (a piece of
the panel). A reported match is *correct* when it stands for some planted event.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence


@dataclass
class Score:
    recall: float
    precision: float
    n_events: int
    n_found: int
    n_matches: int
    n_correct: int
    recall_by_kind: dict[str, float] = field(default_factory=dict)
    recall_by_group: dict[str, float] = field(default_factory=dict)
    missed: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("recall", "precision", "n_events", "n_found", "n_matches",
                                               "n_correct", "recall_by_kind", "recall_by_group")}


def _load(x: Any) -> Any:
    if isinstance(x, (str, Path)):
        return json.loads(Path(x).read_text())
    return x


def _same_source(reported: str, planted: str) -> bool:
    r, p = str(reported).replace("\\", "/"), str(planted).replace("\\", "/")
    return r == p or r.endswith("/" + p) or p.endswith("/" + r)


def _inter(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _area(a: Sequence[float]) -> float:
    return max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0)


def stands_for(reported: dict[str, Any], planted: dict[str, Any], min_cover: float = 0.5) -> bool:
    if not _same_source(reported["source"], planted["source"]) or reported.get("page") != planted.get("page"):
        return False
    i = _inter(reported["bbox"], planted["bbox"])
    if i <= 0:
        return False
    return i >= min_cover * _area(planted["bbox"]) or i >= min_cover * _area(reported["bbox"])


def _links(m: dict[str, Any], ev: dict[str, Any]) -> bool:
    a, b = m["a"], m["b"]
    return (stands_for(a, ev["a"]) and stands_for(b, ev["b"])) or (stands_for(a, ev["b"]) and stands_for(b, ev["a"]))


def score_matches(matches: Any, truth: Any, threshold: float | None = None) -> Score:
    """Recall of planted events and precision of reported matches.

    ``matches``/``truth``: paths or loaded JSON. ``threshold`` (optional) keeps only
    matches with probability >= it, to sweep thresholds over one scan run.
    """
    ms = _load(matches)
    tr = _load(truth)
    events = tr["events"] if isinstance(tr, dict) else tr
    if threshold is not None:
        ms = [m for m in ms if m["probability"] >= threshold]
    found = [False] * len(events)
    correct = 0
    fps = []
    # Bucket events by (source, page) so scoring stays fast with many matches.
    index: dict[tuple[str, Any], list[int]] = {}
    for i, ev in enumerate(events):
        for side in ("a", "b"):
            key = (Path(ev[side]["source"]).name, ev[side]["page"])
            index.setdefault(key, []).append(i)
    for m in ms:
        cands = set(index.get((Path(m["a"]["source"]).name, m["a"].get("page")), []))
        cands &= set(index.get((Path(m["b"]["source"]).name, m["b"].get("page")), []))
        hit = [i for i in sorted(cands) if _links(m, events[i])]
        for i in hit:
            found[i] = True
        if hit:
            correct += 1
        else:
            fps.append(m)
    by_kind: dict[str, list[bool]] = {}
    by_group: dict[str, list[bool]] = {}
    for ev, f in zip(events, found):
        by_kind.setdefault(ev.get("kind", "?"), []).append(f)
        by_group.setdefault((ev.get("transform") or {}).get("group", "?"), []).append(f)
    rate = lambda xs: float(sum(xs)) / len(xs) if xs else 1.0  # noqa: E731
    return Score(
        recall=rate(found),
        precision=correct / len(ms) if ms else 1.0,
        n_events=len(events),
        n_found=int(sum(found)),
        n_matches=len(ms),
        n_correct=correct,
        recall_by_kind={k: rate(v) for k, v in sorted(by_kind.items())},
        recall_by_group={k: rate(v) for k, v in sorted(by_group.items())},
        missed=[ev for ev, f in zip(events, found) if not f],
        false_positives=fps,
    )


def kind_counts(truth: Any) -> dict[str, int]:
    tr = _load(truth)
    return dict(Counter(ev["kind"] for ev in tr["events"]))
