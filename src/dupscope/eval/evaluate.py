"""Score a labelled pair CSV: every distinct image decoded and encoded once, in batches."""

from __future__ import annotations

import csv
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from dupscope.data.datasets import read_pairs_table, resolve_pair_paths
from dupscope.errors import ImageLoadError
from dupscope.eval.metrics import expected_calibration_error, summary
from dupscope.io import load_image
from dupscope.verifier import Verifier


@dataclass
class EvalResult:
    rows: list[dict[str, Any]]  # input rows with probability (skipped rows excluded)
    metrics: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)


def embed_unique(
    verifier: Verifier,
    paths: Sequence[str],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Embeddings of every distinct path; unreadable files come back in the error dict."""
    emb: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    chunk_paths: list[str] = []
    chunk_imgs: list[np.ndarray] = []

    def flush() -> None:
        if chunk_imgs:
            out = verifier.embed_arrays(chunk_imgs, batch_size)
            for p, e in zip(chunk_paths, out):
                emb[p] = e
            if progress:
                progress(len(chunk_imgs))
        chunk_paths.clear()
        chunk_imgs.clear()

    for p in dict.fromkeys(paths):
        try:
            chunk_imgs.append(load_image(p))
            chunk_paths.append(p)
        except ImageLoadError as exc:
            errors[p] = exc.reason
            if progress:
                progress(1)
        if len(chunk_imgs) >= batch_size:
            flush()
    flush()
    return emb, errors


def pair_embeddings(verifier: Verifier, rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Aligned embeddings of each row's a and b; every image must be readable."""
    emb, errors = embed_unique(verifier, [r[k] for r in rows for k in ("a", "b")])
    if errors:
        path, reason = next(iter(errors.items()))
        raise ImageLoadError(path, reason)
    return np.stack([emb[r["a"]] for r in rows]), np.stack([emb[r["b"]] for r in rows])


def score_rows(
    verifier: Verifier,
    rows: list[dict[str, str]],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
    mode: str = "head",
    fuse: bool = True,
) -> EvalResult:
    """Score rows; with a fitted fusion in the checkpoint (and ``fuse``), the fused probability."""
    t0 = time.perf_counter()
    paths = [r[k] for r in rows for k in ("a", "b")]
    emb, errors = embed_unique(verifier, paths, batch_size, progress)
    kept, skipped = [], []
    for r in rows:
        bad = [(r[k], errors[r[k]]) for k in ("a", "b") if r[k] in errors]
        if bad:
            skipped.append({"a": r["a"], "b": r["b"], "file": bad[0][0], "reason": bad[0][1]})
        else:
            kept.append(r)
    if kept:
        ea = np.stack([emb[r["a"]] for r in kept])
        eb = np.stack([emb[r["b"]] for r in kept])
        probs = verifier.score_embeddings(ea, eb, mode=mode)
        fusion = verifier.config.fusion_model if (fuse and mode == "head") else None
        if fusion:
            from dupscope.evidence import FusionModel, verify_pairs

            evs = verify_pairs([(r["a"], r["b"]) for r in kept])
            probs = FusionModel.from_dict(fusion).predict_many(probs, evs)
    else:
        fusion = None
        probs = np.zeros(0, np.float32)
    elapsed = time.perf_counter() - t0
    out_rows = [{**r, "probability": float(p)} for r, p in zip(kept, probs)]
    metrics = pair_metrics(out_rows)
    metrics.update(
        pairs=len(rows),
        scored=len(kept),
        skipped=len(skipped),
        images=len(emb) + len(errors),
        seconds=round(elapsed, 3),
        pairs_per_second=round(len(kept) / elapsed, 2) if elapsed > 0 else None,
        model=verifier.name,
        mode=mode,
        decision_threshold=float(fusion.get("threshold", verifier.threshold)) if fusion else verifier.threshold,
        fused=bool(fusion),
    )
    return EvalResult(out_rows, metrics, skipped)


def pair_metrics(rows: Sequence[dict[str, Any]], score_key: str = "probability") -> dict[str, Any]:
    """Overall figures plus, per group, the count and share of pairs above the 1%-FPR threshold."""
    if not rows:
        return {"roc_auc": None, "average_precision": None, "tpr_at_fpr_1pct": None, "threshold_at_fpr_1pct": None, "ece": None, "groups": {}}
    y = np.array([int(float(r["label"])) for r in rows])
    s = np.array([float(r[score_key]) for r in rows])
    m: dict[str, Any] = {k: (None if np.isnan(v) else v) for k, v in summary(y, s).items()}
    m["ece"] = expected_calibration_error(y, s) if score_key == "probability" else None
    t = m["threshold_at_fpr_1pct"]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r.get("group") or "all"].append(i)
    m["groups"] = {
        g: {
            "count": len(idx),
            "label": int(round(float(np.mean(y[idx])))) if len(set(y[idx])) == 1 else None,
            "share_above_threshold": float(np.mean(s[idx] >= t)) if t is not None else None,
        }
        for g, idx in sorted(groups.items())
    }
    return m


def write_scores(rows: Sequence[dict[str, Any]], path: str | Path, columns: Sequence[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*columns, "probability"], extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def plot_roc(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "dupscope") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dupscope.eval.metrics import roc_points

    y = np.array([int(float(r["label"])) for r in rows])
    s = np.array([float(r["probability"]) for r in rows])
    fpr, tpr = roc_points(y, s)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.plot(fpr, tpr, lw=2, label=title)
    ax.axvline(0.01, color="grey", ls=":", lw=1, label="FPR = 1%")
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false-positive rate (log)")
    ax.set_ylabel("true-positive rate")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_csv(
    verifier: Verifier,
    pairs_csv: str | Path,
    scores_out: str | Path | None = None,
    json_out: str | Path | None = None,
    plot: str | Path | None = None,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
    fuse: bool = True,
) -> EvalResult:
    columns, raw = read_pairs_table(pairs_csv)
    rows = resolve_pair_paths(raw, Path(pairs_csv).parent)
    for i, r in enumerate(rows):
        r["_row"] = str(i)  # back to the row as written (write_scores ignores this key)
    result = score_rows(verifier, rows, batch_size, progress, fuse=fuse)
    if scores_out:
        # Repeat the input columns as given (relative paths stay relative).
        out = [{**raw[int(r["_row"])], "probability": r["probability"]} for r in result.rows]
        write_scores(out, scores_out, columns)
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps({**result.metrics, "skipped_pairs": result.skipped}, indent=2))
    if plot and result.rows:
        plot_roc(result.rows, plot, verifier.name)
    return result
