"""Scan scaling benchmark: wall time, peak memory and overhead over pure encoding.

    python benchmarks/scan_benchmark.py --sizes 1000 2000 4000 8000 [--model PATH] [--device cpu]

Images are generated cheaply (smooth random blobs, 5% planted copies, some mirrored) and
written once as PNG; each size runs in a fresh subprocess so peak RSS is per size.
"Encode" is the time to embed the same images with the 8 rotations/flips (what a scan
must compute, images already decoded), timed on the first ``--encode-sample`` images and
scaled to n; "ratio" is scan wall time / encode time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_images(folder: Path, n: int, side: int = 160, seed: int = 0) -> list[Path]:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img{i:06d}.png" for i in range(n)]
    if all(p.exists() for p in paths):
        return paths
    rng = np.random.default_rng(seed)
    cache: list[np.ndarray] = []
    for i, p in enumerate(paths):
        if i >= 20 and rng.random() < 0.05:  # a planted copy of an earlier image
            img = cache[int(rng.integers(len(cache)))]
            img = img[:, ::-1] if rng.random() < 0.5 else img
        else:
            low = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            img = cv2.resize(low, (side, side), interpolation=cv2.INTER_CUBIC)
            img = np.clip(img.astype(np.int16) + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
        if len(cache) < 500:
            cache.append(img)
        cv2.imwrite(str(p), np.ascontiguousarray(img[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return paths


def one(args: argparse.Namespace) -> dict:
    """Run in a subprocess: encode, then scan, the first ``args.one`` images."""
    import torch

    from dupscope.io import load_image
    from dupscope.preprocess import resize_square
    from dupscope.scan import Scanner
    from dupscope.verifier import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    v = load_model(args.model, device=args.device)
    paths = sorted(Path(args.images).glob("*.png"))[: args.one]
    imgs = [resize_square(load_image(p), v.config.input_size) for p in paths]
    v.embed_arrays(imgs[: args.batch_size], args.batch_size, tta=True)  # warm-up
    # Pure encoding is linear in n: time it on a sample and scale, so the benchmark does
    # not spend as long on the reference as on the scan (--encode-sample 0: all images).
    sample = imgs if not args.encode_sample else imgs[: args.encode_sample]
    if v.device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    v.embed_arrays(sample, args.batch_size, tta=True)
    if v.device.type == "cuda":
        torch.cuda.synchronize()
    encode = (time.perf_counter() - t) * len(imgs) / len(sample)
    t = time.perf_counter()
    v.embed_arrays(sample, args.batch_size, tta=False)
    encode_plain = (time.perf_counter() - t) * len(imgs) / len(sample)
    del imgs, sample
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        res = Scanner(v, batch_size=args.batch_size, k=args.k).scan([str(p) for p in paths], out)
        scan = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": len(paths), "items": res.n_items, "candidates": res.n_candidates, "matches": len(res.matches),
            "encode_s": encode, "encode_plain_s": encode_plain, "scan_s": scan, "ratio": scan / encode,
            "peak_rss_mb": rss, "timings": res.timings, "device": str(v.device), "model": v.name}


def main(argv: list[str] | None = None) -> int:
    from dupscope.scan.scanner import DEFAULT_K

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    ap.add_argument("--images", default=None, help="folder for the generated images (default: a temp folder)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--k", type=int, default=DEFAULT_K, help="neighbours verified per image")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--encode-sample", type=int, default=1000,
                    help="images whose pure encoding is timed and scaled to n (0: all)")
    ap.add_argument("--json", default=None, help="also write the rows here")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args)))
        return 0
    images = Path(args.images or Path(tempfile.gettempdir()) / "dupscope_scan_bench")
    t = time.perf_counter()
    make_images(images, max(args.sizes))
    print(f"images: {max(args.sizes)} in {images} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    rows = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--images", str(images), "--device", args.device,
               "--batch-size", str(args.batch_size), "--k", str(args.k), "--threads", str(args.threads),
               "--encode-sample", str(args.encode_sample)]
        if args.model:
            cmd += ["--model", args.model]
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        x = rows[-1]
        print(f"  n={n} done: scan {x['scan_s']:.1f} s, encode {x['encode_s']:.1f} s, ratio {x['ratio']:.2f}, "
              f"peak {x['peak_rss_mb']:.0f} MB", file=sys.stderr)
        if args.json:  # rows so far, in case a later size is cut short
            Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"model {rows[0]['model']} on {rows[0]['device']}")
    head = f"{'images':>7} {'items':>7} {'cands':>7} {'matches':>7} {'encode s':>9} {'scan s':>8} {'ratio':>6} {'s/1k':>6} {'peak MB':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['n']:>7} {r['items']:>7} {r['candidates']:>7} {r['matches']:>7} {r['encode_s']:>9.1f} "
              f"{r['scan_s']:>8.1f} {r['ratio']:>6.2f} {1000 * r['scan_s'] / r['n']:>6.2f} {r['peak_rss_mb']:>8.0f}")
    if len(rows) > 1:
        g = np.polyfit(np.log([r["n"] for r in rows]), np.log([r["scan_s"] for r in rows]), 1)[0]
        print(f"growth exponent (log scan time vs log n): {g:.2f}  (1.00 = linear)")
    print("stage seconds (scan / own embed: scan time over its extract + embed stage):")
    for r in rows:
        own = r["timings"].get("extract_embed") or float("nan")
        print(f"  {r['n']:>6}: " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
              + f"; scan / own embed {r['scan_s'] / own:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
