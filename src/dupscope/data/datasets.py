"""Torch datasets over the three training inputs: a pool/folder, Airbnb layout, pair CSV."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
import warnings
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from dupscope.data.pairs import PANEL_SHARE, make_triplet, siblings_by_group
from dupscope.data.sources import SourceRecord, assert_not_reserved, real_group, split_of
from dupscope.errors import ImageLoadError
from dupscope.io import is_image_path, load_image
from dupscope.preprocess import to_tensor


@dataclass(frozen=True)
class Preprocess:
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        return to_tensor(images, self.size, self.mean, self.std)


def records_from_folder(folder: str | Path) -> list[SourceRecord]:
    """Any folder of images as a source pool: positives are made on the fly."""
    folder = Path(folder)
    assert_not_reserved(folder)
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and is_image_path(p):
            g = real_group(p)
            out.append(SourceRecord(str(p), "real", g, split_of(g)))
    if not out:
        raise ValueError(f"{folder}: no images found")
    return out


class TripletDataset(IterableDataset):
    """Endless (anchor, positive, hard negative) triplets drawn from source records."""

    def __init__(self, records: Sequence[SourceRecord], prep: Preprocess, seed: int = 0, length: int = 10_000) -> None:
        self.records = list(records)
        self.groups = siblings_by_group(self.records)
        self.prep = prep
        self.seed = seed
        self.length = length

    def __len__(self) -> int:
        return self.length

    def _load(self, i: int) -> np.ndarray | None:
        try:
            return load_image(self.records[i].path, max_side=768)
        except ImageLoadError:
            return None

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        epoch = int(torch.initial_seed()) if info else 0
        rng = np.random.default_rng([self.seed, wid, epoch % (2**31)])
        n = len(self.records)
        for _ in range(self.length // nw):
            i = int(rng.integers(n))
            src = self._load(i)
            if src is None:
                continue
            peers = [j for j in self.groups[self.records[i].group] if j != i]
            sib = self._load(int(rng.choice(peers))) if peers else None
            others = []
            if rng.random() < PANEL_SHARE:  # three other pictures to compose a figure around src
                others = [o for o in (self._load(int(j)) for j in rng.integers(n, size=3)) if o is not None]
            try:
                t = make_triplet(src, rng, sibling=sib, others=others)
            except (ValueError, cv2.error) as exc:  # a degenerate draw must not end a long run
                warnings.warn(f"{self.records[i].path}: skipped triplet ({exc})", RuntimeWarning)
                continue
            x = self.prep([t.anchor, t.positive, t.negative])
            yield {"anchor": x[0], "positive": x[1], "negative": x[2]}


def read_pairs_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """The CSV's columns and rows exactly as written (a,b,label[,group] required)."""
    path = Path(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        missing = {"a", "b", "label"} - set(columns)
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return columns, list(reader)


def resolve_pair_paths(rows: Sequence[dict[str, str]], base: Path) -> list[dict[str, str]]:
    """Copies of ``rows`` whose relative ``a``/``b`` paths resolve against ``base``."""
    out = []
    for r in rows:
        r = dict(r)
        for k in ("a", "b"):
            p = Path(r[k])
            r[k] = str(p if p.is_absolute() else base / p)
        out.append(r)
    return out


def read_pairs_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a,b,label[,group]; relative paths resolve against the CSV's folder."""
    return resolve_pair_paths(read_pairs_table(path)[1], Path(path).parent)


_AIRBNB = re.compile(r"^(?P<city>.+)_(?P<room>\d+)_(?P<n>\d+)$")


def airbnb_pairs(root: str | Path, negatives_per_positive: int = 1, seed: int = 0) -> list[dict[str, str]]:
    """Kaggle "Airbnb duplicate image detection": <split>/<room type>/<city>_<id>_<n>.jpg.

    Photos of one (room type, city, id) are positives; other listings of the same room
    type are the hard negatives.
    """
    rng = np.random.default_rng(seed)
    listings: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for p in sorted(Path(root).rglob("*")):
        m = _AIRBNB.match(p.stem)
        if p.is_file() and is_image_path(p) and m:
            listings[(p.parent.name, m["city"], m["room"])].append(str(p))
    by_type: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for key in listings:
        by_type[key[0]].append(key)
    rows = []
    for key, photos in listings.items():
        for x in range(len(photos)):
            for y in range(x + 1, len(photos)):
                rows.append({"a": photos[x], "b": photos[y], "label": "1", "group": key[0]})
                peers = [k for k in by_type[key[0]] if k != key]
                for _ in range(negatives_per_positive if peers else 0):
                    other = listings[peers[int(rng.integers(len(peers)))]]
                    rows.append({"a": photos[x], "b": other[int(rng.integers(len(other)))], "label": "0", "group": key[0]})
    if not rows:
        raise ValueError(f"{root}: no <city>_<id>_<n> images in the Airbnb layout found")
    return rows


class LabelledPairDataset(Dataset):
    def __init__(self, rows: Sequence[dict[str, str]], prep: Preprocess) -> None:
        self.rows = list(rows)
        self.prep = prep

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        r = self.rows[i]
        x = self.prep([load_image(r["a"]), load_image(r["b"])])
        return {"a": x[0], "b": x[1], "label": torch.tensor(float(r["label"]))}
