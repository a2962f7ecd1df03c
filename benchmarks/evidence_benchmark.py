"""Benchmark of dupscope.evidence: transform recovery, speed, text suppression, copy-move.

    PYTHONPATH=src python benchmarks/evidence_benchmark.py [--n 20] [--seed 0]

Sources: every procedural generator (dupscope.generators) plus real photos shipped with
Debian's opencv-doc (when installed). Positives are catalogue derivations with exact
ground truth (dupscope.transforms.random_derivation); negatives are generator siblings
(same style, different content: the hard case for a false accusation).
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np

from dupscope.baselines.sift import sift_ransac_inliers
from dupscope.evidence import detect_copy_move, explain, verify_pair
from dupscope.generators import generate, siblings
from dupscope.io import load_image
from dupscope.transforms import random_derivation

KINDS = ["fluorescence", "histology", "western_blot", "gel", "flow_cytometry", "chart", "heatmap", "starfield"]


def iou(p, q) -> float:
    ix = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    iy = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = ix * iy
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
    return inter / union if union > 0 else 0.0


def angle_err(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def photos(limit: int) -> list[np.ndarray]:
    paths = sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg"))
    paths += sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.png"))
    out = []
    for p in paths:
        try:
            img = load_image(p, max_side=640)
        except Exception:
            continue
        if min(img.shape[:2]) >= 96 and img.std() > 20:
            out.append(img)
        if len(out) >= limit:
            break
    return out


def colourful(img: np.ndarray) -> bool:
    """Is converting to grayscale visible at all? (many scientific images are grey)"""
    return float((np.ptp(img.astype(np.int16), axis=2) > 20).mean()) > 0.005


def pct(x) -> str:
    return f"{100.0 * float(np.mean(x)):5.1f}%" if len(x) else "   n/a"


def transform_recovery(sources, rng) -> None:
    rows = []
    times, cpu = [], []
    explain(sources[0][1], sources[0][1])  # warm-up (OpenCV initialisation)
    for kind, img in sources:
        d = random_derivation(img, rng)
        t, c = time.perf_counter(), time.process_time()
        j = explain(img, d.image)
        times.append(1000 * (time.perf_counter() - t))
        cpu.append(1000 * (time.process_time() - c))
        rows.append((kind, d, j, colourful(img)))
    print("\n== Transform recovery on catalogue derivations (B = derive(A)) ==")
    print(f"{'source':15s} {'pairs':>5s} {'found':>7s} | among found: {'rot+mir':>7s} {'scale10%':>8s} {'IoU>=.8':>8s} {'gray':>6s} {'inv':>6s}")
    groups = {}
    for kind, d, j, col in rows:
        groups.setdefault(kind, []).append((d, j, col))
    groups["ALL"] = [(d, j, col) for _, d, j, col in rows]
    failures = []
    for kind, items in groups.items():
        found = [(d, j) for d, j, _ in items if j["found"]]
        found_col = [(d, j) for d, j, col in items if j["found"] and col]
        rot = [angle_err(j["rotation_deg"], d.rotation_deg) < 2.0 and j["mirrored"] == d.mirrored for d, j in found]
        sc = [abs(j["scale"] / d.scale - 1) <= 0.10 for d, j in found]
        bx = [iou(j["crop_box_a"], d.crop_box_a) >= 0.8 for d, j in found]
        gr = [j["grayscale"] == d.grayscale for d, j in found_col]
        inv = [j["inverted"] == d.inverted for d, j in found]
        print(f"{kind:15s} {len(items):5d} {pct([j['found'] for _, j, _ in items]):>7s} | "
              f"{pct(rot):>20s} {pct(sc):>8s} {pct(bx):>8s} {pct(gr):>6s} {pct(inv):>6s}")
        if kind == "ALL":
            failures = [(d, j) for (d, j), r, s, b in zip(found, rot, sc, bx) if not (r and s and b)]
    by_group = {}
    for _, d, j, _ in rows:
        by_group.setdefault(d.group, []).append(j["found"])
    print("recall by edit group: " + ", ".join(f"{g} {pct(v).strip()} (n={len(v)})" for g, v in sorted(by_group.items())))
    for d, j in failures[:5]:
        print(f"  miss: {d.group}: gt rot={d.rotation_deg:.1f} mir={d.mirrored} s={d.scale:.3f} box={d.crop_box_a} "
              f"| got rot={j['rotation_deg']} mir={j['mirrored']} s={j['scale']} box={j['crop_box_a']}")
    print(f"explain(): wall median {np.median(times):.1f} ms, p90 {np.percentile(times, 90):.1f} ms; "
          f"CPU time median {np.median(cpu):.1f} ms, p90 {np.percentile(cpu, 90):.1f} ms per pair "
          f"(max_side=512, {len(times)} pairs; wall is inflated when the machine is shared)")
    print("(gray column: only pairs whose A is coloured, where converting to grayscale is observable)")


def text_suppression(n: int, rng) -> None:
    print("\n== Text suppression: sibling figures (distinct, same style/labels) vs derived ==")
    print(f"{'kind':15s} {'mode':8s} {'sib inl med/p90':>16s} {'sib score p90':>13s} {'sib FP':>7s} {'der recall':>10s} {'SIFT-baseline FP@10':>20s}")
    for kind in ["chart", "flow_cytometry", "heatmap", "western_blot", "gel"]:
        pairs = [siblings(kind, rng, 2) for _ in range(n)]
        ders = [(p[0], random_derivation(p[0], rng).image) for p in pairs]
        base = [sift_ransac_inliers(a, b) >= 10 for a, b in pairs]
        for sup in (False, True):
            sib = [verify_pair(a, b, suppress_text=sup) for a, b in pairs]
            der = [verify_pair(a, b, suppress_text=sup) for a, b in ders]
            inl = [e.inliers for e in sib]
            sc = [e.score for e in sib]
            print(f"{kind:15s} {'on' if sup else 'off':8s} {np.median(inl):7.0f}/{np.percentile(inl, 90):<8.0f} "
                  f"{np.percentile(sc, 90):13.2f} {pct([e.found for e in sib]):>7s} {pct([e.found for e in der]):>10s} "
                  f"{pct(base) if not sup else '':>20s}")


def copy_move(n: int, rng) -> None:
    print("\n== Copy-move: planted region (60-100 px, plain or mirrored) vs clean image ==")
    print(f"{'kind':15s} {'clean FP':>8s} {'planted TP':>10s} {'mirrored TP':>11s}")
    allfp, alltp = [], []
    for kind in KINDS:
        fp, tp, tpm = [], [], []
        for _ in range(n):
            img, _ = generate(kind, rng)
            fp.append(detect_copy_move(img).found)
            for mirror, acc in ((False, tp), (True, tpm)):
                h, w = img.shape[:2]
                s = int(rng.integers(60, 101))
                # Paste a textured source region (an editor copies content, not blank space).
                best = None
                for _ in range(20):
                    x0, y0 = (int(v) for v in rng.integers(0, [w - s, h - s]))
                    sd = img[y0:y0 + s, x0:x0 + s].std()
                    if best is None or sd > best[0]:
                        best = (sd, x0, y0)
                _, x0, y0 = best
                for _ in range(100):
                    x1, y1 = (int(v) for v in rng.integers(0, [w - s, h - s]))
                    if abs(x1 - x0) > s or abs(y1 - y0) > s:
                        break
                out = img.copy()
                patch = img[y0:y0 + s, x0:x0 + s]
                out[y1:y1 + s, x1:x1 + s] = patch[:, ::-1] if mirror else patch
                acc.append(detect_copy_move(out).found)
        allfp += fp
        alltp += tp + tpm
        print(f"{kind:15s} {pct(fp):>8s} {pct(tp):>10s} {pct(tpm):>11s}")
    print(f"{'ALL':15s} {pct(allfp):>8s} {pct(alltp):>22s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="images per generator kind")
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    sources = [(k, generate(k, rng)[0]) for k in KINDS for _ in range(args.n)]
    sources += [("photo", p) for p in photos(args.photos)]
    transform_recovery(sources, rng)
    text_suppression(max(5, args.n), rng)
    copy_move(max(4, args.n // 2), rng)


if __name__ == "__main__":
    main()
