"""Pure metric functions on plain arrays: labels in {0, 1}, scores higher = more duplicate."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape} vs {s.shape}")
    return y, s


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    y, s = _check(labels, scores)
    if y.min(initial=0) == y.max(initial=0):
        return float("nan")
    return float(roc_auc_score(y, s))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    y, s = _check(labels, scores)
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, s))


def threshold_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    """Smallest threshold whose false-positive rate (score >= t) stays at or below ``fpr``."""
    y, s = _check(labels, scores)
    neg = np.sort(s[y == 0])[::-1]
    if len(neg) == 0:
        return float(s.min(initial=0.0))
    allowed = int(np.floor(fpr * len(neg)))  # this many negatives may sit at or above t
    if allowed >= len(neg):
        return float(neg[-1])
    # Any t strictly above the (allowed+1)-th highest negative keeps FPR <= fpr.
    return float(np.nextafter(neg[allowed], np.inf))


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    y, s = _check(labels, scores)
    if y.sum() == 0:
        return float("nan")
    t = threshold_at_fpr(y, s, fpr)
    return float((s[y == 1] >= t).mean())


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 15) -> float:
    y, p = _check(labels, probs)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece)


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, s = _check(labels, scores)
    fpr, tpr, _ = roc_curve(y, s)
    return fpr, tpr


def summary(labels: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> dict[str, float]:
    return {
        "roc_auc": roc_auc(labels, scores),
        "average_precision": average_precision(labels, scores),
        "tpr_at_fpr_1pct": tpr_at_fpr(labels, scores, fpr),
        "threshold_at_fpr_1pct": threshold_at_fpr(labels, scores, fpr),
    }
