"""Positive and hard-negative construction, shared by training and the benchmark.

A *positive* is an image and something derived from it by manual edits (the transform
catalogue, partial reuse by overlapping crops, a panel cut out of a larger figure). A *hard
negative* is similar but distinct: a sibling from the same generator style or photo
series, or a disjoint field of view of the same specimen. Negatives are themselves edited
half of the time, so "has been edited" is never a shortcut to "derived".
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from dupscope.data.sources import SourceRecord
from dupscope.errors import ImageLoadError
from dupscope.io import load_image
from dupscope.transforms import GROUPS, disjoint_crops, overlapping_crops, random_derivation

WORK_SIDE = 384  # sources are brought to this longer side before editing: cheap and enough
POSITIVE_GROUPS = tuple(g for g in GROUPS if g not in ("combo", "copy"))
NEGATIVE_GROUPS = ("neg_sibling", "neg_disjoint", "neg_other")
# Training mix of partial reuse, the verifier's weakest positives: a triplet's positive is a
# panel cut from a composite figure PANEL_SHARE of the time (1% until session 17) and an
# overlapping field of view OVERLAP_SHARE of the rest (12% until session 17).
PANEL_SHARE = 0.1
OVERLAP_SHARE = 0.2


def fit_side(img: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    if s >= 1.0:
        return img
    return cv2.resize(img, (max(16, round(w * s)), max(16, round(h * s))), interpolation=cv2.INTER_AREA)


def composite(panels: Sequence[np.ndarray], rng: np.random.Generator, side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """A multi-panel figure (grid with white gutters); returns it and where panel 0 went."""
    n = len(panels)
    cols = 2 if n <= 4 else 3
    rows = (n + cols - 1) // cols
    cell = side // max(cols, rows)
    gutter = int(rng.integers(4, 12))
    canvas = np.full((rows * cell + (rows + 1) * gutter, cols * cell + (cols + 1) * gutter, 3), 255, np.uint8)
    order = rng.permutation(n)
    where = int(np.where(order == 0)[0][0])
    for slot, idx in enumerate(order):
        r, c = divmod(slot, cols)
        y, x = gutter + r * (cell + gutter), gutter + c * (cell + gutter)
        canvas[y : y + cell, x : x + cell] = cv2.resize(panels[idx], (cell, cell), interpolation=cv2.INTER_AREA)
    return canvas, where


@dataclass
class Triplet:
    anchor: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    pos_group: str
    neg_group: str


def _maybe_edit(img: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    return random_derivation(img, rng).image if rng.random() < p else img


def make_positive(
    anchor: np.ndarray, rng: np.random.Generator, group: str | None = None, others: Sequence[np.ndarray] = ()
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return (anchor', derived, group): anchor' differs from anchor only for partial reuse."""
    if group is None:  # training draws: ``others`` are loaded only for panels (see PANEL_SHARE)
        group = "panel" if others else "overlap" if rng.random() < OVERLAP_SHARE else "catalogue"
    if group == "overlap":
        a, b, _ = overlapping_crops(anchor, rng, min_overlap=0.5)
        return a, _maybe_edit(b, rng, 0.5), "overlap"
    if group == "panel":
        fig, _ = composite([anchor, *others[:3]], rng)
        return fig, _maybe_edit(anchor, rng, 0.5), "panel"
    if group == "catalogue":
        d = random_derivation(anchor, rng)
    elif group == "combo":
        d = random_derivation(anchor, rng, n_ops=int(rng.integers(2, 5)))
    elif group == "copy":
        return anchor, anchor.copy(), "copy"
    else:
        d = random_derivation(anchor, rng, n_ops=1, groups=[group])
    return anchor, d.image, d.group


def make_triplet(
    source: np.ndarray,
    rng: np.random.Generator,
    sibling: np.ndarray | None = None,
    others: Sequence[np.ndarray] = (),
) -> Triplet:
    """One anchor with a derived positive and a similar-but-distinct hard negative."""
    source = fit_side(source)
    use_disjoint = sibling is None or rng.random() < 0.35
    if use_disjoint:
        try:
            anchor, negative = disjoint_crops(source, rng, min_frac=0.4)
            neg_group = "neg_disjoint"
        except ValueError:
            anchor, negative, neg_group = source, (sibling if sibling is not None else source[::-1, ::-1].copy()), "neg_sibling"
    else:
        anchor, negative, neg_group = source, fit_side(sibling), "neg_sibling"
    anchor, positive, pos_group = make_positive(anchor, rng, others=[fit_side(o) for o in others])
    negative = _maybe_edit(negative, rng, 0.5)
    return Triplet(anchor, positive, negative, pos_group, neg_group)


def siblings_by_group(records: Sequence[SourceRecord]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[r.group].append(i)
    return groups


def build_pair_set(
    records: Sequence[SourceRecord],
    out_dir: str | Path,
    positives_per_group: int = 60,
    negatives_per_group: int = 240,
    seed: int = 0,
) -> Path:
    """Write a labelled pair benchmark (images + ``pairs.csv`` with a,b,label,group).

    Every positive group of the catalogue gets ``positives_per_group`` pairs; the negatives
    (siblings, disjoint fields of view, other images of the same kind) get
    ``negatives_per_group`` each, half of them edited so edits alone prove nothing.
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "img").mkdir(parents=True, exist_ok=True)
    cache: dict[int, np.ndarray] = {}
    readable = []
    for i, r in enumerate(records):  # unreadable sources are skipped, not fatal
        try:
            cache[i] = fit_side(load_image(r.path))
            readable.append(r)
        except ImageLoadError:
            continue
    cache = {k: v for k, v in zip(range(len(readable)), cache.values())}
    records = readable
    by_group = siblings_by_group(records)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_kind[r.kind].append(i)
    def get(i: int) -> np.ndarray:
        return cache[i]

    rows: list[tuple[str, str, int, str]] = []
    counter = [0]

    def save(img: np.ndarray) -> str:
        counter[0] += 1
        rel = f"img/{counter[0]:06d}.png"
        cv2.imwrite(str(out_dir / rel), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        return rel

    n = len(records)
    pos_groups = [*POSITIVE_GROUPS, "combo", "overlap", "panel"]
    for g in pos_groups:
        for _ in range(positives_per_group):
            i = int(rng.integers(n))
            others = [get(int(j)) for j in rng.integers(n, size=3)] if g == "panel" else []
            a, b, _ = make_positive(get(i), rng, group=g, others=others)
            rows.append((save(a), save(b), 1, g))
    multi = [idx for idx in by_group.values() if len(idx) >= 2]
    for _ in range(negatives_per_group if multi else 0):
        idx = multi[int(rng.integers(len(multi)))]
        i, j = rng.choice(idx, size=2, replace=False)
        rows.append((save(get(int(i))), save(_maybe_edit(get(int(j)), rng, 0.5)), 0, "neg_sibling"))
    done, tries = 0, 0
    while done < negatives_per_group and tries < 20 * negatives_per_group:
        tries += 1
        i = int(rng.integers(n))
        try:
            a, b = disjoint_crops(get(i), rng, min_frac=0.4)
        except ValueError:
            continue
        rows.append((save(a), save(_maybe_edit(b, rng, 0.5)), 0, "neg_disjoint"))
        done += 1
    kinds = [k for k, idx in by_kind.items() if len(idx) >= 2]
    for _ in range(negatives_per_group if kinds else 0):
        idx = by_kind[kinds[int(rng.integers(len(kinds)))]]
        i, j = rng.choice(idx, size=2, replace=False)
        if records[int(i)].group == records[int(j)].group:
            continue
        rows.append((save(get(int(i))), save(_maybe_edit(get(int(j)), rng, 0.5)), 0, "neg_other"))
    csv_path = out_dir / "pairs.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label", "group"])
        w.writerows(rows)
    return csv_path
