"""Geometric evidence: *how* one image was derived from another, and copy-move within one.

The siamese model says "these look like the same image"; this package says what was done
(rotation, mirror, crop, scale, grayscale, inversion, contrast) and shows it, which is
what an editor needs before writing to authors. See :mod:`dupscope.evidence.verify`.
"""

from dupscope.evidence.copy_move import (
    CopyMoveRegion,
    CopyMoveResult,
    detect_copy_move,
    visualize_copy_move,
)
from dupscope.evidence.features import ImageFeatures, extract_features
from dupscope.evidence.fusion import FusionModel, fit_fusion
from dupscope.evidence.textmask import text_mask
from dupscope.evidence.verify import (
    GeometricEvidence,
    explain,
    verify_either_way,
    verify_features,
    verify_pair,
    verify_pairs,
)
from dupscope.evidence.visualize import evidence_png, visualize

__all__ = [
    "CopyMoveRegion",
    "CopyMoveResult",
    "FusionModel",
    "GeometricEvidence",
    "ImageFeatures",
    "detect_copy_move",
    "evidence_png",
    "explain",
    "extract_features",
    "fit_fusion",
    "text_mask",
    "verify_either_way",
    "verify_features",
    "verify_pair",
    "verify_pairs",
    "visualize",
    "visualize_copy_move",
]
