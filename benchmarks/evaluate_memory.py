"""Peak memory and speed of ``dupscope evaluate`` on N distinct images (default 5,000).

Makes N generated scientific images (a quarter of them derived copies of others), writes a
pair CSV over all of them, runs ``dupscope evaluate`` in a child process and prints its
peak resident memory (getrusage of children) and pairs per second. Target: < 3 GB.

    python benchmarks/evaluate_memory.py --images 5000 --work /tmp/dupscope_mem
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from dupscope.generators import GENERATORS, generate
from dupscope.transforms import random_derivation


def make_images(folder: Path, n: int, seed: int) -> list[tuple[str, str, int]]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = [g for g in GENERATORS if g not in ("chart", "heatmap", "flow_cytometry")]  # the fast ones
    pairs: list[tuple[str, str, int]] = []
    originals = n * 3 // 4
    for i in range(originals):
        p = folder / f"o{i:05d}.png"
        if not p.exists():
            img, _ = generate(names[i % len(names)], rng, size=(256, 256))
            cv2.imwrite(str(p), img[:, :, ::-1])
    for j in range(n - originals):
        src = folder / f"o{j:05d}.png"
        p = folder / f"d{j:05d}.png"
        if not p.exists():
            img = cv2.imread(str(src))[:, :, ::-1]
            cv2.imwrite(str(p), np.ascontiguousarray(random_derivation(img, rng).image[:, :, ::-1]))
        pairs.append((src.name, p.name, 1))
    for k in range(0, originals - 1, 2):
        pairs.append((f"o{k:05d}.png", f"o{k + 1:05d}.png", 0))
    return pairs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--work", default="/tmp/dupscope_mem")
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    work = Path(args.work)
    t0 = time.time()
    pairs = make_images(work / "img", args.images, args.seed)
    csv_path = work / "pairs.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label"])
        w.writerows((f"img/{a}", f"img/{b}", y) for a, b, y in pairs)
    print(f"made {args.images} images, {len(pairs)} pairs in {time.time() - t0:.0f}s", file=sys.stderr)
    cmd = [sys.executable, "-m", "dupscope", "evaluate", str(csv_path), "--json-out", str(work / "metrics.json"), "--device", "cpu"]
    if args.model:
        cmd += ["--model", args.model]
    t1 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - t1
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    m = json.loads((work / "metrics.json").read_text())
    print(f"evaluate on {m['images']} images / {m['scored']} pairs: wall {wall:.0f}s, "
          f"peak RSS {peak_kb / 1024**2:.2f} GB, {m['pairs_per_second']} pairs/s, "
          f"{m['images'] / wall:.1f} images/s end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
