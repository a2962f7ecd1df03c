"""Calibration fits: the probability should mean what it says."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression


def _nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    z = logits / t
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017): one scalar, keeps the ranking unchanged."""
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, np.float64)
    res = minimize_scalar(lambda lt: _nll(logits, labels, float(np.exp(lt))), bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))


def fit_distance_sigmoid(distances: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """p = sigmoid(scale * (offset - d)), fitted by logistic regression on the distance."""
    d = np.asarray(distances, np.float64).reshape(-1, 1)
    lr = LogisticRegression(C=100.0).fit(d, np.asarray(labels).astype(int))
    coef, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    scale = -coef
    if abs(scale) < 1e-9:
        return 1.0, float(np.median(d))
    return scale, intercept / scale
