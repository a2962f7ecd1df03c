import numpy as np

from dupscope.eval.calibration import fit_distance_sigmoid, fit_temperature
from dupscope.eval.metrics import expected_calibration_error, roc_auc, threshold_at_fpr, tpr_at_fpr


def test_threshold_respects_fpr_and_tpr_counts():
    neg = np.linspace(0, 1, 200)  # 200 negatives
    pos = np.array([0.999, 0.995, 0.5, 0.2])
    y = np.r_[np.zeros(200), np.ones(4)]
    s = np.r_[neg, pos]
    t = threshold_at_fpr(y, s, 0.01)
    assert np.mean(neg >= t) <= 0.01
    assert np.mean(neg >= np.nextafter(neg[-3], -1)) > 0.01  # the threshold is tight
    # Two negatives (1.0, 0.995) may sit above t at 1% of 200: positives 0.999 and 0.995 pass.
    assert tpr_at_fpr(y, s, 0.01) == 0.5
    perfect = np.r_[np.zeros(200), np.ones(4) * 2]
    assert tpr_at_fpr(y, perfect, 0.01) == 1.0 and roc_auc(y, perfect) == 1.0


def test_calibration_fits_recover_known_parameters(rng):
    logits = rng.normal(0, 4, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-logits / 2.0))).astype(int)
    assert abs(fit_temperature(logits, labels) - 2.0) < 0.15
    p_raw = 1 / (1 + np.exp(-logits))
    p_cal = 1 / (1 + np.exp(-logits / fit_temperature(logits, labels)))
    assert expected_calibration_error(labels, p_cal) < expected_calibration_error(labels, p_raw)
    d = rng.uniform(0, 2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-5 * (0.8 - d)))).astype(int)
    scale, offset = fit_distance_sigmoid(d, y)
    assert abs(scale - 5) < 0.6 and abs(offset - 0.8) < 0.05
