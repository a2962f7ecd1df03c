"""Verifier benchmark: dupscope against the peers a user would pick, on one pair set, in one run.

Builds a labelled pair set from the *test* split of the source pool (real non-reserved
images plus generated scientific images, split by source group, never seen in training),
with every transform group of the catalogue, partial reuse, and hard negatives (siblings
from one generator style or photo series, disjoint fields of view, other images of the
same kind). Scores dupscope and the peers: imagehash pHash (plain and best of the 8
rotations/flips), ImageNet-feature cosine (EfficientNet-Lite0), and OpenCV SIFT + RANSAC
inlier count (mirror-aware). Prints ROC-AUC and TPR at 1% FPR overall and per group, the
encoder and head throughput, and writes everything as JSON.

    python benchmarks/verifier_benchmark.py --pool data_cache/pool/pool.csv --out bench_out
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dupscope.baselines import ImageNetCosine, phash8_bits, phash_bits, phash_similarity
from dupscope.data.datasets import read_pairs_csv
from dupscope.data.pairs import build_pair_set
from dupscope.data.pool import build_pool
from dupscope.data.sources import read_pool
from dupscope.eval.metrics import expected_calibration_error, summary, threshold_at_fpr
from dupscope.io import load_image
from dupscope.verifier import load_model


def per_group(rows, scores, labels, t):
    groups = {}
    for g in sorted({r["group"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["group"] == g]
        groups[g] = float(np.mean(scores[idx] >= t))
    return groups


def timed(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", default="data_cache/pool/pool.csv", help="pool.csv (built if missing)")
    ap.add_argument("--out", default="bench_out/verifier")
    ap.add_argument("--model", default=None, help="checkpoint; default: the bundled model")
    ap.add_argument("--positives", type=int, default=40, help="pairs per positive group")
    ap.add_argument("--negatives", type=int, default=300, help="pairs per negative group")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--skip-sift", action="store_true")
    ap.add_argument("--tta", action="store_true", help="also score dupscope with 8-fold rotation/flip TTA")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    pool = Path(args.pool)
    if not pool.exists():
        print(f"building source pool at {pool.parent} ...", file=sys.stderr)
        build_pool(pool.parent, styles_per_generator=40)
    test = [r for r in read_pool(pool) if r.split == "test"]
    out = Path(args.out)
    csv_path = out / "pairs.csv"
    if not csv_path.exists():
        build_pair_set(test, out, args.positives, args.negatives, seed=args.seed)
    rows = read_pairs_csv(csv_path)
    labels = np.array([int(r["label"]) for r in rows])
    paths = list(dict.fromkeys(p for r in rows for p in (r["a"], r["b"])))
    images = {p: load_image(p) for p in paths}
    print(f"{len(rows)} pairs ({labels.sum()} derived), {len(paths)} images", file=sys.stderr)

    scores: dict[str, np.ndarray] = {}
    timing: dict[str, float] = {}

    v = load_model(args.model, device="cpu")
    t0 = time.perf_counter()
    emb = dict(zip(paths, v.embed_arrays([images[p] for p in paths])))
    timing["dupscope"] = time.perf_counter() - t0
    ea = np.stack([emb[r["a"]] for r in rows])
    eb = np.stack([emb[r["b"]] for r in rows])
    scores["dupscope"] = v.score_embeddings(ea, eb)
    scores["dupscope (distance mode)"] = v.score_embeddings(ea, eb, mode="distance")
    if args.tta:
        b_paths = list(dict.fromkeys(r["b"] for r in rows))
        tta = dict(zip(b_paths, v.embed_arrays([images[p] for p in b_paths], tta=True)))
        scores["dupscope + 8-fold TTA"] = v.score_embeddings(ea, np.stack([tta[r["b"]] for r in rows]))

    if v.config.fusion_model and not args.skip_sift:
        from dupscope.evidence import FusionModel
        from dupscope.evidence import verify_pairs

        t0 = time.perf_counter()
        evs = verify_pairs([(r["a"], r["b"]) for r in rows], workers=2)
        timing["geometry"] = time.perf_counter() - t0
        fusion = FusionModel.from_dict(v.config.fusion_model)
        scores["dupscope fused (default)"] = fusion.predict_many(scores["dupscope"], evs)
        scores["geometry alone (evidence score)"] = np.array([e.score for e in evs], float)
        scores = {"dupscope fused (default)": scores.pop("dupscope fused (default)"), **scores}

    t0 = time.perf_counter()
    h1 = {p: phash_bits(images[p]) for p in paths}
    h8 = {p: phash8_bits(images[p]) for p in dict.fromkeys(r["b"] for r in rows)}
    timing["phash"] = time.perf_counter() - t0
    scores["pHash"] = np.array([phash_similarity(h1[r["a"]], h1[r["b"]]) for r in rows])
    scores["pHash best of 8"] = np.array([phash_similarity(h1[r["a"]], h8[r["b"]]) for r in rows])

    inet = ImageNetCosine()
    t0 = time.perf_counter()
    ie = dict(zip(paths, inet.embed([images[p] for p in paths])))
    timing["imagenet"] = time.perf_counter() - t0
    scores["ImageNet cosine"] = inet.similarity(np.stack([ie[r["a"]] for r in rows]), np.stack([ie[r["b"]] for r in rows]))

    if not args.skip_sift:
        from dupscope.baselines.sift import sift_ransac_score

        t0 = time.perf_counter()
        scores["SIFT + RANSAC"] = np.array([sift_ransac_score(images[r["a"]], images[r["b"]]) for r in rows], float)
        timing["sift"] = time.perf_counter() - t0

    # Throughput: encoder on this CPU, and the head on cached embeddings.
    batch = [images[p] for p in paths[:64]]
    enc_s = timed(lambda: v.embed_arrays(batch, batch_size=32))
    big_a = np.repeat(ea, max(1, 200_000 // len(ea)), axis=0)[:200_000]
    big_b = np.repeat(eb, max(1, 200_000 // len(eb)), axis=0)[:200_000]
    head_s = timed(lambda: v.score_embeddings(big_a, big_b))
    throughput = {
        "encoder_images_per_s": round(len(batch) / enc_s, 1),
        "head_pairs_per_s": round(len(big_a) / head_s),
        "torch_threads": torch.get_num_threads(),
    }

    results = {}
    for name, s in scores.items():
        m = summary(labels, s)
        t = threshold_at_fpr(labels, s, 0.01)
        m["groups"] = per_group(rows, s, labels, t)
        results[name] = m
    for name in ("dupscope", "dupscope fused (default)"):
        if name in results:
            results[name]["ece"] = expected_calibration_error(labels, scores[name])

    groups = sorted({r["group"] for r in rows}, key=lambda g: (g.startswith("neg"), g))
    names = list(scores)
    print("\n## Overall (test split, held out by source)\n")
    print("| method | ROC-AUC | TPR @ 1% FPR |")
    print("|---|---|---|")
    for n in names:
        print(f"| {n} | {results[n]['roc_auc']:.4f} | {results[n]['tpr_at_fpr_1pct']:.3f} |")
    print("\n## Per group: share of pairs above each method's 1%-FPR threshold (TPR for derived groups, FPR for neg_*)\n")
    print("| group | n | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for g in groups:
        n = sum(r["group"] == g for r in rows)
        print(f"| {g} | {n} | " + " | ".join(f"{results[m]['groups'][g]:.2f}" for m in names) + " |")
    for name in ("dupscope", "dupscope fused (default)"):
        if name in results:
            print(f"expected calibration error ({name}): {results[name]['ece']:.4f}")
    print(f"encoder throughput: {throughput['encoder_images_per_s']} images/s (median of 3, batch 32, {throughput['torch_threads']} threads)")
    print(f"head throughput on cached embeddings: {throughput['head_pairs_per_s']:,} pairs/s (median of 3)")
    print("wall seconds per method:", {k: round(x, 1) for k, x in timing.items()})
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"methods": results, "throughput": throughput, "timing_s": timing, "pairs": len(rows)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
