"""Where training and benchmark images come from, and how they are split by source.

Splits are by *source group*, never by pair: every view, crop and derivative of one image
(and every sibling of one generator style, and every frame of one numbered photo series)
lands in the same split, so a benchmark never scores an image the model trained on.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from dupscope.errors import ImageLoadError
from dupscope.io import is_image_path, load_image

# Reserved for independent evaluation (DEVELOPERS.md, Data rules): never train or tune on them.
RESERVED_MARKERS = ("astropy-doc", "scipy-doc", "skimage-doc", "skimage/data", "skimage\\data")

DEFAULT_REAL_ROOTS = ("/usr/share/doc/opencv-doc",)


@dataclass(frozen=True)
class SourceRecord:
    path: str
    kind: str  # "real" or a generator name
    group: str  # images in one group are siblings: distinct, same style or specimen
    split: str  # "train" | "val" | "test"


def assert_not_reserved(path: str | Path) -> None:
    s = str(path).lower()
    for marker in RESERVED_MARKERS:
        if marker in s:
            raise ValueError(f"{path}: reserved for independent evaluation; not usable for training")


def split_of(group: str, val_frac: float = 0.1, test_frac: float = 0.15, salt: str = "dupscope-v1") -> str:
    """Deterministic split from a hash of the group name."""
    h = int(hashlib.sha1(f"{salt}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < test_frac:
        return "test"
    if h < test_frac + val_frac:
        return "val"
    return "train"


def real_group(path: Path) -> str:
    """left01.jpg, left02.jpg ... are frames of one series: one group."""
    stem = re.sub(r"[\d_\-]+$", "", path.stem.lower()) or path.stem.lower()
    return f"real:{path.parent.name}/{stem}"


def _dhash(img: np.ndarray) -> int:
    g = cv2.cvtColor(cv2.resize(img, (9, 8), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def _informative(img: np.ndarray, min_side: int) -> bool:
    h, w = img.shape[:2]
    if min(h, w) < min_side or max(h, w) / min(h, w) > 4:
        return False
    return float(img.std()) > 12.0  # flat icons and blank frames teach nothing


def collect_real_images(
    roots: Iterable[str | Path], min_side: int = 96, max_side: int = 512
) -> list[tuple[Path, np.ndarray]]:
    """Every informative image under ``roots``, near-duplicates dropped (dHash distance <= 3)."""
    seen: list[int] = []
    out: list[tuple[Path, np.ndarray]] = []
    for root in roots:
        assert_not_reserved(root)
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or not is_image_path(path):
                continue
            assert_not_reserved(path)
            try:
                img = load_image(path, max_side=max_side)
            except ImageLoadError:
                continue
            if not _informative(img, min_side):
                continue
            h = _dhash(img)
            if any(bin(h ^ s).count("1") <= 3 for s in seen):
                continue
            seen.append(h)
            out.append((path, img))
    return out


def write_pool(records: Sequence[SourceRecord], csv_path: str | Path) -> None:
    csv_path = Path(csv_path)
    tmp = csv_path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "kind", "group", "split"])
        w.writeheader()
        for r in records:
            w.writerow(asdict(r))
    tmp.replace(csv_path)


def read_pool(csv_path: str | Path) -> list[SourceRecord]:
    csv_path = Path(csv_path)
    base = csv_path.parent
    out = []
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            p = Path(row["path"])
            out.append(SourceRecord(str(p if p.is_absolute() else base / p), row["kind"], row["group"], row["split"]))
    return out
