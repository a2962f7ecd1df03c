"""Transform catalogue: seeded, replayable manual edits with exact geometric ground truth.

Used both to make training pairs and to build evaluation sets. Conventions: images are
uint8 (H, W, 3) RGB; ``Derivation.matrix`` maps A's pixel-centre coordinates (x=col,
y=row) to B's; ``crop_box_a`` is a pixel-edge box (``A[y0:y1, x0:x1]``); angles are CCW
as displayed. See :mod:`.geometry` for details and :mod:`.ops` for parameter ranges.
"""

from dupscope.transforms.crops import (
    box_overlap,
    disjoint_crop_boxes,
    disjoint_crops,
    overlapping_crop_boxes,
    overlapping_crops,
)
from dupscope.transforms.derive import (
    OP_GROUPS,
    AppliedOp,
    Derivation,
    apply_op,
    derive_with,
    identity_geometry,
    op_matrix,
    random_derivation,
    sample_op,
)
from dupscope.transforms.geometry import apply_matrix, decompose, source_box
from dupscope.transforms.ops import CATALOGUE, GROUPS, MIN_SIDE, Op

__all__ = [
    "AppliedOp", "CATALOGUE", "Derivation", "GROUPS", "MIN_SIDE", "OP_GROUPS", "Op",
    "apply_matrix", "apply_op", "box_overlap", "decompose", "derive_with",
    "disjoint_crop_boxes", "disjoint_crops", "identity_geometry", "op_matrix",
    "overlapping_crop_boxes", "overlapping_crops", "random_derivation", "sample_op",
    "source_box",
]
