"""Homogeneous 2-D geometry shared by the transform catalogue and the evidence module.

Coordinate convention (used everywhere in :mod:`dupscope.transforms`):

* ``M`` matrices act on **pixel-centre** coordinates: the centre of the pixel in row
  ``r``, column ``c`` is ``(x, y) = (c, r)``; the image covers ``[-0.5, W-0.5] x
  [-0.5, H-0.5]``. This is the convention of ``cv2.warpAffine`` / ``cv2.resize``, so the
  matrices can be fed to OpenCV directly.
* Boxes (``crop_box_a``) are in **pixel-edge** coordinates ``[x0, y0, x1, y1]`` so that
  ``A[y0:y1, x0:x1]`` is the region (numpy slicing). Edge = centre + 0.5.
* Angles are counter-clockwise *as displayed* (y axis pointing down), in degrees.
"""

from __future__ import annotations

import math

import numpy as np


def translation(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def scaling_about_edges(ex: float, ey: float) -> np.ndarray:
    """Resize by (ex, ey) in the pixel-centre convention: x' = (x + 0.5) * ex - 0.5."""
    return np.array(
        [[ex, 0.0, 0.5 * ex - 0.5], [0.0, ey, 0.5 * ey - 0.5], [0.0, 0.0, 1.0]]
    )


def rotation_about(angle_deg: float, cx: float, cy: float) -> np.ndarray:
    """Counter-clockwise (as displayed) rotation about (cx, cy); same as cv2.getRotationMatrix2D."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array(
        [[c, s, (1 - c) * cx - s * cy], [-s, c, s * cx + (1 - c) * cy], [0.0, 0.0, 1.0]]
    )


def apply_matrix(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map an (N, 2) array of (x, y) points through a 3x3 matrix."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    h = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(m, dtype=np.float64).T
    return h[:, :2] / h[:, 2:3]


def decompose(m: np.ndarray) -> tuple[float, bool, float]:
    """(rotation_deg in [0, 360), mirrored, scale) such that the linear part is
    ``S @ R(rotation) @ F**mirrored`` with ``F`` the horizontal flip ``diag(-1, 1)``.

    ``S`` may be anisotropic (resize with aspect change); the rotation is the orthogonal
    polar factor, which is exact when ``S`` is applied after the rotation, and ``scale``
    is the geometric mean of the axis scales, ``sqrt(|det|)``.
    """
    lin = np.asarray(m, dtype=np.float64)[:2, :2]
    det = float(np.linalg.det(lin))
    mirrored = det < 0
    if mirrored:
        lin = lin @ np.diag([-1.0, 1.0])
    u, _, vt = np.linalg.svd(lin)
    rot = u @ vt
    angle = math.degrees(math.atan2(rot[0, 1], rot[0, 0])) % 360.0
    if angle > 360.0 - 1e-9:
        angle = 0.0
    return angle, mirrored, math.sqrt(abs(det))


def skew(m: np.ndarray) -> float:
    """|cos| of the angle between the rows, or between the columns if they are squarer.

    An editor's geometry (mirror, right-angle and small rotations, crop, one resize that
    may change the aspect ratio, in either order) maps A to B by ``S @ Q`` or ``Q @ S``
    with ``Q`` orthogonal and ``S`` diagonal: its rows or its columns are orthogonal, and
    the skew is 0. A sheared fit is no such edit.
    """
    lin = np.asarray(m, dtype=np.float64)[:2, :2]

    def cos(u: np.ndarray, v: np.ndarray) -> float:
        n = float(np.linalg.norm(u) * np.linalg.norm(v))
        return abs(float(u @ v)) / n if n > 0 else 1.0

    return min(cos(lin[0], lin[1]), cos(lin[:, 0], lin[:, 1]))


def source_box(m: np.ndarray, shape_a: tuple[int, int], shape_b: tuple[int, int]) -> list[float]:
    """Region of A (pixel-edge box) that B shows: B's outer corners through M^-1, clipped."""
    hb, wb = shape_b[:2]
    ha, wa = shape_a[:2]
    corners = np.array(
        [[-0.5, -0.5], [wb - 0.5, -0.5], [wb - 0.5, hb - 0.5], [-0.5, hb - 0.5]]
    )
    back = apply_matrix(np.linalg.inv(m), corners) + 0.5
    x0, y0 = np.clip(back.min(axis=0), 0, [wa, ha])
    x1, y1 = np.clip(back.max(axis=0), 0, [wa, ha])
    return [round(float(v), 6) for v in (x0, y0, x1, y1)]
