"""Fusing the siamese probability with geometric evidence into one calibrated probability.

A logistic model on ``[logit(p), log1p(inliers), spread, agreement, found]``, the
geometric terms zero unless the evidence was found. The weights are constrained to be
non-negative, so more geometric support or a higher network probability can never *lower*
the fused probability (an editor must be able to trust that monotonicity), and the
parameters are plain floats for the checkpoint config.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize

from dupscope.evidence.verify import GeometricEvidence

FEATURES = ("logit_p", "log_inliers", "spread", "agreement", "found")
_EPS = 1e-6


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def features(probability: float | np.ndarray, evidence: GeometricEvidence) -> np.ndarray:
    """Feature vector of one pair (see ``FEATURES``).

    An alignment the checks rejected is no evidence: its inliers, spread and agreement
    count only when ``found``. Counted anyway, a rejected fit of two one-band blot strips
    (4 inliers spanning the strip, 0.96 agreement over 24 tiles) lifted a 0.99 network
    probability to 0.77 (fresh corpus seed 9, session 10).
    """
    found = bool(evidence.found)
    return np.array([
        float(_logit(probability)),
        math.log1p(max(0, int(evidence.inliers))) if found else 0.0,
        float(evidence.spread) if found else 0.0,
        float(evidence.agreement) if found else 0.0,
        1.0 if found else 0.0,
    ])


@dataclass
class FusionModel:
    """``sigmoid(bias + sum(w_i * f_i))`` over ``FEATURES``; JSON-serialisable."""

    weights: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0, 0.0])
    bias: float = 0.0
    feature_names: list[str] = field(default_factory=lambda: list(FEATURES))

    def predict(self, probability: float, evidence: GeometricEvidence) -> float:
        """Calibrated probability that B was derived from A."""
        z = self.bias + float(np.dot(self.weights, features(probability, evidence)))
        return float(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))))

    def predict_many(self, probabilities: Sequence[float], evidences: Sequence[GeometricEvidence]) -> np.ndarray:
        return np.array([self.predict(p, e) for p, e in zip(probabilities, evidences)])

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FusionModel":
        names = list(d.get("feature_names", FEATURES))
        if names != list(FEATURES):
            raise ValueError(f"fusion model features {names} do not match this version {list(FEATURES)}")
        return cls(weights=[float(w) for w in d["weights"]], bias=float(d["bias"]), feature_names=names)


def fit_fusion(
    probabilities: np.ndarray,
    evidences: list[GeometricEvidence],
    labels: np.ndarray,
    *,
    l2: float = 1e-2,
) -> FusionModel:
    """Fit the fusion model by L2-regularised logistic regression with weights >= 0.

    ``labels`` are 1 for derived pairs, 0 for distinct ones. Fit it on held-out pairs
    (not the network's training pairs) so the output stays calibrated.
    """
    p = np.asarray(probabilities, np.float64).ravel()
    y = np.asarray(labels, np.float64).ravel()
    if not (len(p) == len(evidences) == len(y)):
        raise ValueError("probabilities, evidences and labels must have the same length")
    if len(y) == 0 or y.min() == y.max():
        raise ValueError("fit_fusion needs both derived (1) and distinct (0) examples")
    X = np.stack([features(pi, e) for pi, e in zip(p, evidences)])
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd < 1e-9] = 1.0
    Z = (X - mu) / sd
    n, d = Z.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = Z @ w + b
        # log(1 + exp(z)) - y z, computed stably
        lse = np.logaddexp(0.0, z)
        val = float(np.mean(lse - y * z) + 0.5 * l2 * np.dot(w, w))
        g = 1.0 / (1.0 + np.exp(-z)) - y
        grad = np.concatenate([Z.T @ g / n + l2 * w, [g.mean()]])
        return val, grad

    bounds = [(0.0, None)] * d + [(None, None)]
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    w_std, b_std = res.x[:d], res.x[d]
    # Undo the standardisation so the stored model works on raw features.
    w = w_std / sd
    b = float(b_std - np.dot(w, mu))
    return FusionModel(weights=[float(v) for v in w], bias=b)
