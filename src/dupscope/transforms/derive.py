"""Derivations: an image B made from A by a recorded list of ops, with ground truth.

The ground truth follows one convention so the evidence module can score recovered
transforms: ``B = resize(crop(rotate(mirror(A) if mirrored else A, rotation_deg),
crop_box_a), scale)``, where ``matrix`` (3x3, A->B, pixel centres) is exact and the
scalar summary (``rotation_deg`` CCW in [0, 360), ``mirrored`` = horizontal flip applied
first, ``scale`` = geometric mean of axis scales) is read off it; see :mod:`.geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from dupscope.transforms import geometry as G
from dupscope.transforms.ops import CATALOGUE, GROUPS, MIN_SIDE, Params, Shape

# Groups an op can be drawn from ("copy" and "combo" describe derivations, not ops).
OP_GROUPS: tuple[str, ...] = tuple(g for g in GROUPS if g not in ("copy", "combo"))
MAX_GROWTH = 2.0  # a derived image's long side never exceeds this times A's long side


def _plain(v: Any) -> Any:
    """JSON-safe copy of a param value (numpy scalars/arrays -> Python)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v


@dataclass(frozen=True)
class AppliedOp:
    name: str
    group: str
    params: dict

    def to_json(self) -> dict:
        return {"name": self.name, "group": self.group, "params": _plain(self.params)}


@dataclass
class Derivation:
    """B plus how it was made. ``image`` may be None for a geometry-only record."""

    image: Optional[np.ndarray]
    ops: list[AppliedOp]
    matrix: np.ndarray
    group: str
    shape_a: tuple[int, int]
    shape_b: tuple[int, int]
    grayscale: bool = False
    inverted: bool = False
    rotation_deg: float = field(init=False)
    mirrored: bool = field(init=False)
    scale: float = field(init=False)
    crop_box_a: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = np.asarray(self.matrix, dtype=np.float64)
        rot, mir, sc = G.decompose(self.matrix)
        self.rotation_deg = round(rot, 6) % 360.0
        self.mirrored = mir
        self.scale = sc
        self.crop_box_a = G.source_box(self.matrix, self.shape_a, self.shape_b)

    @property
    def geometric(self) -> bool:
        return any(CATALOGUE[o.name].geometric for o in self.ops)

    def to_json(self) -> dict:
        return {
            "group": self.group,
            "ops": [o.to_json() for o in self.ops],
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "shape_a": list(self.shape_a),
            "shape_b": list(self.shape_b),
            "rotation_deg": float(self.rotation_deg),
            "mirrored": bool(self.mirrored),
            "scale": float(self.scale),
            "crop_box_a": [float(v) for v in self.crop_box_a],
            "grayscale": bool(self.grayscale),
            "inverted": bool(self.inverted),
        }


def apply_op(img: np.ndarray, name: str, params: Optional[Params] = None) -> np.ndarray:
    """Run one catalogue op (pure: the input is never modified)."""
    return CATALOGUE[name].fn(img, **(params or {}))


def sample_op(name: str, rng: np.random.Generator, shape: Sequence[int]) -> Params:
    """Draw ``name``'s parameters for an image of shape (H, W[, C])."""
    return _plain(CATALOGUE[name].sample(rng, (int(shape[0]), int(shape[1]))))


def op_matrix(name: str, shape: Sequence[int], params: Params) -> np.ndarray:
    """3x3 A->B matrix of one op applied to an image of shape (H, W)."""
    op = CATALOGUE[name]
    if op.matrix is None:
        return np.eye(3)
    return np.asarray(op.matrix((int(shape[0]), int(shape[1])), params), dtype=np.float64)


def _group_of(ops: Sequence[AppliedOp]) -> str:
    real = [o for o in ops if o.group != "copy"]
    if not real:
        return "copy"
    return real[0].group if len(real) == 1 else "combo"


def identity_geometry(shape: Sequence[int], image: Optional[np.ndarray] = None) -> Derivation:
    """Ground-truth record of an unmodified copy (group "copy")."""
    hw = (int(shape[0]), int(shape[1]))
    img = None if image is None else np.ascontiguousarray(image).copy()
    return Derivation(img, [], np.eye(3), "copy", hw, hw)


def derive_with(img: np.ndarray, ops: Iterable[tuple[str, Params] | AppliedOp | dict]) -> Derivation:
    """Apply explicit ops in order (replay from JSON: items may be ``(name, params)``,
    :class:`AppliedOp` or its ``to_json()`` dict)."""
    img = np.ascontiguousarray(img)
    shape_a = (int(img.shape[0]), int(img.shape[1]))
    cur = img.copy()
    m = np.eye(3)
    applied: list[AppliedOp] = []
    gray = inv = False
    for item in ops:
        if isinstance(item, AppliedOp):
            name, params = item.name, item.params
        elif isinstance(item, dict):
            name, params = item["name"], item.get("params", {})
        else:
            name, params = item
        params = _plain(dict(params or {}))
        m = op_matrix(name, cur.shape, params) @ m
        cur = apply_op(cur, name, params)
        applied.append(AppliedOp(name, CATALOGUE[name].group, params))
        if name == "grayscale":
            gray = True
        elif name == "invert":
            inv = not inv
    return Derivation(cur, applied, m, _group_of(applied), shape_a,
                      (int(cur.shape[0]), int(cur.shape[1])), gray, inv)


def _ok_shape(shape: Sequence[int], shape_a: Shape) -> bool:
    h, w = int(shape[0]), int(shape[1])
    floor = min(MIN_SIDE, *shape_a)  # a tiny A may stay tiny, never shrink below 16 px
    return min(h, w) >= floor and max(h, w) <= MAX_GROWTH * max(shape_a)


def _allowed_groups(groups: Optional[Iterable[str]]) -> tuple[list[str], bool]:
    """(op groups to draw from, combo_only)."""
    if groups is None:
        return list(OP_GROUPS), False
    gs = list(dict.fromkeys(groups))
    unknown = [g for g in gs if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown groups {unknown}; valid: {GROUPS}")
    op_groups = [g for g in gs if g in OP_GROUPS]
    if not op_groups and "combo" in gs:
        return list(OP_GROUPS), True
    return op_groups, False


def random_derivation(
    img: np.ndarray,
    rng: np.random.Generator,
    n_ops: Optional[int] = None,
    groups: Optional[Iterable[str]] = None,
    min_ops: int = 1,
    max_ops: int = 4,
) -> Derivation:
    """Random manual edit of ``img``: one op (p=0.5) or a 2-4 op combo.

    ``groups`` restricts the op groups drawn from; ``["copy"]`` gives an exact copy and
    ``["combo"]`` alone means a combo over all groups. Ops in a combo come from distinct
    groups. Ops whose sampled params would leave a side < 16 px or grow the long side
    beyond 2x A's are redrawn, so the result is never degenerate.
    """
    img = np.ascontiguousarray(img)
    shape_a = (int(img.shape[0]), int(img.shape[1]))
    op_groups, combo_only = _allowed_groups(groups)
    if not op_groups:  # only "copy" requested
        return derive_with(img, [])
    cap = len(op_groups)  # combos use distinct groups
    if n_ops is not None:
        n = min(int(n_ops), cap)
    else:
        lo = max(min_ops, 2 if combo_only else 1)
        hi = max(lo, max_ops)
        if lo <= 1 and rng.random() < 0.5:
            n = 1
        else:
            n = int(rng.integers(max(lo, 2), max(hi, 2) + 1))
        n = min(n, cap)
    if n <= 0:
        return derive_with(img, [])

    chosen_groups = [op_groups[int(i)] for i in rng.permutation(len(op_groups))[:n]]
    by_group: dict[str, list[str]] = {}
    for name, op in CATALOGUE.items():
        by_group.setdefault(op.group, []).append(name)

    steps: list[tuple[str, Params]] = []
    shape: tuple[int, int] = shape_a
    for g in chosen_groups:
        names = by_group[g]
        for _ in range(32):
            name = names[int(rng.integers(len(names)))]
            params = sample_op(name, rng, shape)
            new_shape = _predict_shape(name, shape, params)
            if _ok_shape(new_shape, shape_a):
                break
        else:
            continue  # could not place this group without degenerating the image: skip it
        steps.append((name, params))
        shape = new_shape
    return derive_with(img, steps)


def _predict_shape(name: str, shape: Shape, params: Params) -> tuple[int, int]:
    """Output (H, W) of an op without running it (geometric ops change size)."""
    from dupscope.transforms import ops as O

    h, w = shape
    if name == "rot90":
        return (w, h) if int(params["k"]) % 2 else (h, w)
    if name == "mirror":
        return (w, h) if params["axis"] in ("transpose", "antitranspose") else (h, w)
    if name == "rotate_small":
        _, nw, nh = O._small_rot_geometry(shape, float(params["angle"]), bool(params.get("expand", True)))
        return nh, nw
    if name == "crop":
        return int(params["y1"]) - int(params["y0"]), int(params["x1"]) - int(params["x0"])
    if name == "resize":
        nw, nh = O._resize_size(shape, params["sx"], params["sy"])
        return nh, nw
    return h, w
