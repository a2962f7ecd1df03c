"""Build the source pool once: real photos and diagrams plus generated scientific images.

Generated images come in sibling groups (one style, several independent draws) so that
training and benchmarks always have same-style hard negatives at hand.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from dupscope.data.sources import (
    DEFAULT_REAL_ROOTS,
    SourceRecord,
    collect_real_images,
    real_group,
    split_of,
    write_pool,
)


def _save_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def _render_group(task: tuple[str, int, int, str, int]) -> list[tuple[str, str, str]]:
    from dupscope.generators import siblings

    name, style_idx, seed, out_dir, n = task
    rng = np.random.default_rng(seed)
    h = int(rng.choice([256, 320, 384, 448]))
    w = int(np.clip(h * rng.choice([0.75, 1.0, 1.0, 1.33, 1.5]), 192, 512))
    imgs = siblings(name, rng, n=n, size=(h, w))
    group = f"gen:{name}:{seed}"
    rows = []
    for j, img in enumerate(imgs):
        rel = f"gen/{name}/{style_idx:05d}_{j}.png"
        _save_png(Path(out_dir) / rel, img)
        rows.append((rel, name, group))
    return rows


def build_pool(
    out_dir: str | Path,
    real_roots: Iterable[str | Path] = DEFAULT_REAL_ROOTS,
    styles_per_generator: int = 120,
    siblings_per_style: int = 3,
    generators: Iterable[str] | None = None,
    seed: int = 0,
    workers: int = 2,
) -> Path:
    """Write images and ``pool.csv`` (path, kind, group, split) under ``out_dir``."""
    from dupscope.generators import GENERATORS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records: list[SourceRecord] = []
    for i, (path, img) in enumerate(collect_real_images(real_roots)):
        rel = f"real/{i:05d}.png"
        _save_png(out_dir / rel, img)
        group = real_group(path)
        records.append(SourceRecord(rel, "real", group, split_of(group)))
    names = sorted(generators or GENERATORS)
    tasks = [
        (name, k, seed * 1_000_003 + gi * 100_003 + k, str(out_dir), siblings_per_style)
        for gi, name in enumerate(names)
        for k in range(styles_per_generator)
    ]
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = pool.map(_render_group, tasks, chunksize=4)
    else:
        results = [_render_group(t) for t in tasks]
    for rows in results:
        for rel, kind, group in rows:
            records.append(SourceRecord(rel, kind, group, split_of(group)))
    csv_path = out_dir / "pool.csv"
    write_pool(records, csv_path)
    return csv_path


def main(argv: list[str] | None = None) -> int:
    """``python -m dupscope.data.pool --out data_cache/pool``: the default model's source pool."""
    import argparse

    ap = argparse.ArgumentParser(description="Build the training/benchmark source pool.")
    ap.add_argument("--out", default="data_cache/pool")
    ap.add_argument("--real", nargs="*", default=list(DEFAULT_REAL_ROOTS), help="folders of real (non-reserved) images")
    ap.add_argument("--styles", type=int, default=150, help="styles per generator")
    ap.add_argument("--siblings", type=int, default=3, help="siblings per style")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    print(build_pool(a.out, a.real, a.styles, a.siblings, seed=a.seed, workers=a.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
