"""Keypoints for the scan's geometric check, computed once per item.

An item takes part in up to ~k candidate pairs whose partners are scattered over the whole
corpus, so a small cache of full features thrashes: at 1,000 images each was detected
again for almost every pair. Here every item's keypoints are kept *packed* (no pixels,
byte descriptors; a few KB for a plain panel, at most ~150 KB), detection runs on a
thread pool (OpenCV releases the GIL), and the working pixels are rebuilt only for the few
pairs whose keypoints align well enough to be compared pixel by pixel.

The pairs themselves are verified on threads too (see ``Scanner._fuse``): every use of
the cache, and so every decode (PyMuPDF is not thread-safe), holds one lock.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable, Iterable

import cv2
import numpy as np

from dupscope.evidence.dense import twin_views
from dupscope.evidence.features import ImageFeatures, extract_features, working_pixels

PACKED_BUDGET = 1 << 30  # bytes of packed keypoints kept during one scan
PIXEL_CACHE = 32  # items whose working pixels are kept for pixel comparison


class KeypointCache:
    """Packed keypoints per item hash, filled in parallel ahead of the pairs that need them.

    Safe to share between threads: ``pixels`` (PyMuPDF decodes PDF figures, and is not
    thread-safe) is only ever called under the cache's lock, one call at a time; the
    detection pool never decodes.
    """

    def __init__(
        self,
        pixels: Callable[[object], np.ndarray | None],
        workers: int | None = None,
        budget: int = PACKED_BUDGET,
    ) -> None:
        self._pixels = pixels
        self._workers = workers or min(4, os.cpu_count() or 1)
        self._budget = budget
        self._bytes = 0
        self._packed: OrderedDict[str, ImageFeatures | None] = OrderedDict()
        self._full: OrderedDict[str, ImageFeatures] = OrderedDict()
        self._items: dict[str, object] = {}
        self._twins: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # 4 KB an item, evicted with its keypoints
        self.detected = 0  # detections run (a re-detection after eviction counts again)
        self._lock = threading.RLock()

    def prefetch(self, items: Iterable) -> None:
        """Detect keypoints of the items not cached yet, in parallel."""
        with self._lock:
            self._prefetch(items)

    def _prefetch(self, items: Iterable) -> None:
        todo: dict[str, np.ndarray] = {}
        for it in items:
            self._items.setdefault(it.hash, it)
            if it.hash in self._packed or it.hash in todo:
                continue
            px = self._pixels(it)
            if px is None:
                self._put(it.hash, None)
            else:
                todo[it.hash] = px
        if not todo:
            return
        with ThreadPoolExecutor(self._workers) as pool:
            feats = list(pool.map(_safe_extract, todo.values()))
        self.detected += len(todo)
        for h, f in zip(todo, feats):
            self._put(h, None if f is None else f.packed(self._restorer(h)))

    def get(self, it) -> ImageFeatures | None:
        """Features ready for :func:`~dupscope.evidence.verify.verify_features` (None: no pixels)."""
        with self._lock:
            if it.hash not in self._packed:
                self._prefetch([it])
            f = self._packed.get(it.hash)
            if it.hash in self._packed:
                self._packed.move_to_end(it.hash)
        return None if f is None else f.unpacked()

    def twin_views(self, it) -> tuple[np.ndarray, np.ndarray] | None:
        """:func:`~dupscope.evidence.dense.twin_views` of an item already detected (None
        otherwise: this never detects)."""
        with self._lock:
            if it.hash not in self._twins:
                f = self._packed.get(it.hash)
                if f is None or f.thumb is None:
                    return None
                self._twins[it.hash] = twin_views(f.thumb)
            return self._twins[it.hash]

    def _put(self, h: str, f: ImageFeatures | None) -> None:
        self._packed[h] = f
        self._bytes += f.nbytes if f is not None else 0
        while self._bytes > self._budget and len(self._packed) > 1:
            h_old, old = self._packed.popitem(last=False)
            self._twins.pop(h_old, None)
            self._bytes -= old.nbytes if old is not None else 0

    def _restorer(self, h: str) -> Callable[[], ImageFeatures]:
        def restore() -> ImageFeatures:
            with self._lock:
                if h in self._full:
                    self._full.move_to_end(h)
                    return self._full[h]
                base = self._packed.get(h)
                px = self._pixels(self._items[h])
            if base is None or px is None:
                raise ValueError("pixels of a cached item are no longer readable")
            rgb, gray, text = working_pixels(px)
            full = replace(base.unpacked(), rgb=rgb, gray=gray, text=text, work_shape=None, restore=None)
            with self._lock:
                self._full[h] = full
                if len(self._full) > PIXEL_CACHE:
                    self._full.popitem(last=False)
            return full

        return restore


def _safe_extract(px: np.ndarray) -> ImageFeatures | None:
    try:
        return extract_features(px)
    except (cv2.error, ValueError):  # a degenerate panel: the verifier's score stands
        return None
