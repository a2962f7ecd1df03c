"""The scan's keypoint cache: packed features give the evidence full features give."""

from __future__ import annotations

import numpy as np
from scan_helpers import blobs

from dupscope.evidence.features import extract_features
from dupscope.evidence.verify import verify_features
from dupscope.scan.geometry import KeypointCache


class _It:
    def __init__(self, h: str, px: np.ndarray):
        self.hash, self.px = h, px


def test_packed_keypoints_give_the_same_evidence_and_detect_once():
    a = blobs(1, 200, 260, n=25)
    derived = np.ascontiguousarray(np.rot90(a[20:180, 30:240]))  # crop + rotation: found
    other = blobs(2, 200, 260, n=25)
    items = [_It("a", a), _It("d", derived), _It("o", other)]
    reads = []
    cache = KeypointCache(lambda it: reads.append(it.hash) or it.px, workers=2)
    cache.prefetch(items)
    full = {it.hash: extract_features(it.px) for it in items}
    packed = cache.get(items[0])
    assert not packed.has_pixels and packed.descriptors.dtype == np.float32
    assert np.array_equal(packed.descriptors, full["a"].descriptors)  # bytes are exact for SIFT
    for x, y in (("a", "d"), ("d", "a"), ("a", "o"), ("o", "d")):
        got = verify_features(cache.get(items["ado".index(x)]), cache.get(items["ado".index(y)]))
        want = verify_features(full[x], full[y])
        assert (got.found, got.inliers, got.agreement, got.matrix) == (want.found, want.inliers, want.agreement, want.matrix)
    assert verify_features(full["a"], full["d"]).found and not verify_features(full["a"], full["o"]).found
    assert cache.detected == 3  # once per item, however many pairs it is in
    assert reads.count("a") >= 2  # its pixels were read again only to compare them


def test_unreadable_item_has_no_features():
    cache = KeypointCache(lambda it: None)
    assert cache.get(_It("x", None)) is None


def test_threads_sharing_the_cache_never_decode_at_the_same_time():
    """The scan verifies pairs on threads; decoding (PyMuPDF for PDF figures) is not
    thread-safe, so the cache must hand out one decode at a time, and every pair must get
    the evidence it gets on one thread."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from dupscope.evidence.verify import verify_either_way

    a = blobs(1, 200, 260, n=25)
    items = [_It("a", a), _It("d", np.ascontiguousarray(np.rot90(a[20:180, 30:240]))),
             _It("o", blobs(2, 200, 260, n=25)), _It("p", blobs(3, 180, 240, n=20))]
    busy, overlaps, reads = threading.Lock(), [], []

    def pixels(it):
        if not busy.acquire(blocking=False):
            overlaps.append(it.hash)
            return it.px
        try:
            time.sleep(0.005)  # long enough for a second decode to collide
            reads.append(it.hash)
            return it.px
        finally:
            busy.release()

    cache = KeypointCache(pixels, workers=2)
    pairs = [(x, y) for x in items for y in items if x is not y] * 3

    def check(pair):
        r = verify_either_way(cache.get(pair[0]), cache.get(pair[1]))
        return r.found, r.inliers, r.agreement

    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(check, pairs))
    assert overlaps == []
    assert len(reads) > len(items)  # pixels were read again to compare them, under the lock
    one = KeypointCache(lambda it: it.px)
    assert threaded == [(r.found, r.inliers, r.agreement) for r in
                        (verify_either_way(one.get(x), one.get(y)) for x, y in pairs)]
    assert threaded[pairs.index((items[0], items[1]))][0]  # the rotated crop is found
