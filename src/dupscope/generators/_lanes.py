"""Electrophoresis primitives shared by the western-blot and gel generators.

A band row (one protein / DNA fragment across all lanes) is rendered in one
vectorised step: a horizontal lane profile times a vertical Gaussian whose centre
follows the per-lane "smile".
"""

from __future__ import annotations

import numpy as np


def lane_profile(xs: np.ndarray, centres: np.ndarray, half_width: float, softness: float) -> np.ndarray:
    """(n_lanes, W) flat-topped horizontal profile of each lane."""
    d = np.abs(xs[None, :] - centres[:, None]) - half_width
    return (1.0 / (1.0 + np.exp(np.clip(d / max(softness, 1e-3), -30, 30)))).astype(np.float32)


def add_band_row(canvas: np.ndarray, profiles: np.ndarray, centres: np.ndarray, half_width: float,
                 y: float | np.ndarray, thickness: float | np.ndarray, intensities: np.ndarray,
                 smile: float = 0.0, smear: np.ndarray | None = None, smear_len: float = 0.0,
                 smear_up: float = 0.0) -> None:
    """Add one band across lanes (in place).

    ``y``/``thickness`` may be scalars or per-lane arrays; ``smear`` is a per-lane weight of
    a trailing exponential tail below the band (degradation / overloading).
    """
    h, w = canvas.shape
    n = len(centres)
    y_l = np.broadcast_to(np.asarray(y, np.float32), (n,))
    t_l = np.broadcast_to(np.asarray(thickness, np.float32), (n,))
    # Per-pixel-column lane assignment: nearest lane weights.
    weight = profiles * intensities[:, None]  # (n, W)
    col_int = weight.sum(0)
    if float(col_int.max()) <= 1e-6:
        return
    lane_idx = np.argmax(profiles, axis=0)
    xs = np.arange(w, dtype=np.float32)
    rel = (xs - centres[lane_idx]) / max(half_width, 1.0)
    yc = y_l[lane_idx] + smile * (rel ** 2) * t_l[lane_idx]
    th = t_l[lane_idx]
    tail = 0.0 if smear is None else smear_len
    top = int(max(0, np.floor(float((yc - 4 * th).min()) - smear_up)))
    bot = int(min(h, np.ceil(float((yc + 4 * th).max()) + 4 * tail)))
    if top >= bot:
        return
    ys = np.arange(top, bot, dtype=np.float32)[:, None]
    d = (ys - yc[None, :]) / th[None, :]
    patch = np.exp(-0.5 * d * d)
    if smear is not None and smear_len > 0:
        s_col = (profiles * smear[:, None]).sum(0)
        below = np.clip(ys - yc[None, :], 0, None)
        patch = patch + s_col[None, :] / np.maximum(col_int[None, :], 1e-6) * np.exp(-below / smear_len) * (ys > yc[None, :])
        if smear_up > 0:
            above = np.clip(yc[None, :] - ys, 0, None)
            patch = patch + 0.3 * s_col[None, :] / np.maximum(col_int[None, :], 1e-6) * np.exp(-above / smear_up) * (ys < yc[None, :])
    canvas[top:bot] += patch * col_int[None, :]


def lane_centres(n_lanes: int, x0: float, x1: float) -> tuple[np.ndarray, float]:
    """Evenly spaced lane centres in [x0, x1] and the pitch between them."""
    pitch = (x1 - x0) / n_lanes
    return x0 + pitch * (np.arange(n_lanes) + 0.5), pitch
