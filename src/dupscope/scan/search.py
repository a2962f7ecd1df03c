"""Nearest-neighbour retrieval robust to rotations and flips.

The index holds one plain embedding per distinct image; each query is the 8 dihedral
embeddings of an image, and a neighbour's similarity is its best over the 8. This finds
a rotated or mirrored copy without indexing 8x the vectors. Never an all-pairs matrix:
exact inner-product search below ``exact_limit`` vectors, HNSW above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # faiss is needed to search, not to import dupscope (training machines)
    import faiss

EXACT_LIMIT = 20_000


def build_index(vectors: np.ndarray, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    d = vectors.shape[1]
    if len(vectors) < exact_limit:
        index = faiss.IndexFlatIP(d)
    else:
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    index.add(vectors)
    return index


def _dedupe_rows(ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, keep each id once with its best similarity; best ``k`` first."""
    o1 = np.argsort(-sims, axis=1, kind="stable")
    ids1 = np.take_along_axis(ids, o1, axis=1)
    s1 = np.take_along_axis(sims, o1, axis=1)
    o2 = np.argsort(ids1, axis=1, kind="stable")  # equal ids stay in best-first order
    ids2 = np.take_along_axis(ids1, o2, axis=1)
    dup2 = np.zeros(ids2.shape, bool)
    dup2[:, 1:] = ids2[:, 1:] == ids2[:, :-1]
    dup1 = np.empty_like(dup2)
    np.put_along_axis(dup1, o2, dup2, axis=1)
    dup1 |= ids1 < 0
    s1 = np.where(dup1, -np.inf, s1)
    ids1 = np.where(dup1, -1, ids1)
    o3 = np.argsort(-s1, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(ids1, o3, axis=1), np.take_along_axis(s1, o3, axis=1)


def dihedral_knn(
    index: faiss.Index, queries: np.ndarray, k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, 8, D) queries -> ids (Q, k) and similarities (Q, k), best over the 8 views.

    Missing neighbours are id -1 with similarity -inf.
    """
    import faiss

    q, g, d = queries.shape
    k_eff = min(k, index.ntotal)
    ids_out = np.full((q, k), -1, np.int64)
    sims_out = np.full((q, k), -np.inf, np.float32)
    if q == 0 or k_eff == 0:
        return ids_out, sims_out
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = max(64, 2 * k_eff)
    for s in range(0, q, chunk):
        block = np.ascontiguousarray(queries[s : s + chunk].reshape(-1, d), dtype=np.float32)
        sims, ids = index.search(block, k_eff)
        n = len(block) // g
        ids_m, sims_m = _dedupe_rows(ids.reshape(n, g * k_eff), sims.reshape(n, g * k_eff), k_eff)
        ids_out[s : s + n, :k_eff] = ids_m
        sims_out[s : s + n, :k_eff] = sims_m
    return ids_out, sims_out
