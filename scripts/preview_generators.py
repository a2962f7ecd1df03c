"""Save a contact sheet of every procedural generator, to eyeball realism.

Each row: two siblings (same style, different content) and one image of another style.

    python scripts/preview_generators.py /tmp/generators_sheet.png [--size 256] [--rows 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dupscope.generators import GENERATORS, generate, siblings


def sheet(size: int, rows: int, seed: int, names: list[str]) -> Image.Image:
    pad, label_h = 6, 16
    cols = 3
    tiles = []
    for name in names:
        for r in range(rows):
            rng = np.random.default_rng([seed, r, len(name)])
            a, b = siblings(name, rng, n=2, size=(size, size))
            c, _ = generate(name, rng, size=(size, size))
            tiles.append((f"{name}  (siblings | other style)", [a, b, c]))
    W = cols * (size + pad) + pad
    H = len(tiles) * (size + pad + label_h) + pad
    page = Image.new("RGB", (W, H), (128, 128, 128))
    draw = ImageDraw.Draw(page)
    y = pad
    for label, imgs in tiles:
        draw.text((pad, y), label, fill=(255, 255, 255))
        y += label_h
        for i, im in enumerate(imgs):
            page.paste(Image.fromarray(im), (pad + i * (size + pad), y))
        y += size + pad
    return page


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rows", type=int, default=1, help="rows (styles) per generator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", default=None, help="generator names")
    a = p.parse_args(argv)
    names = a.only or list(GENERATORS)
    sheet(a.size, a.rows, a.seed, names).save(a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
