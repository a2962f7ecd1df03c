"""Geometric evidence: *how* one image was derived from another, and copy-move within one.

The siamese model says "these look like the same image"; this package says what was done
(rotation, mirror, crop, scale, grayscale, inversion, contrast) and shows it, which is
what an editor needs before writing to authors. See :mod:`dupscope.evidence.verify`.
"""

from dupscope.evidence.features import ImageFeatures, extract_features
from dupscope.evidence.verify import GeometricEvidence, explain, verify_features, verify_pair

__all__ = [
    "GeometricEvidence",
    "ImageFeatures",
    "explain",
    "extract_features",
    "verify_features",
    "verify_pair",
]
