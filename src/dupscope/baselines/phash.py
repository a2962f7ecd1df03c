"""Perceptual hash peers (imagehash pHash), plain and best over the 8 rotations/flips."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from dupscope.preprocess import DIHEDRAL


def phash_bits(img: np.ndarray) -> np.ndarray:
    return imagehash.phash(Image.fromarray(img)).hash.flatten()


def phash8_bits(img: np.ndarray) -> np.ndarray:
    """(8, 64) hashes of the 8 dihedral variants of ``img``."""
    out = []
    for k, mirror in DIHEDRAL:
        v = img[:, ::-1] if mirror else img
        out.append(phash_bits(np.ascontiguousarray(np.rot90(v, k))))
    return np.stack(out)


def phash_similarity(ha: np.ndarray, hb: np.ndarray) -> float:
    """1 - normalised Hamming distance; with (8, 64) for ``hb`` the best of the 8."""
    hb = np.atleast_2d(hb)
    return float(1.0 - (hb != ha[None, :]).mean(axis=1).min())


def phash_score(a: np.ndarray, b: np.ndarray) -> float:
    return phash_similarity(phash_bits(a), phash_bits(b))


def phash8_score(a: np.ndarray, b: np.ndarray) -> float:
    return phash_similarity(phash_bits(a), phash8_bits(b))
