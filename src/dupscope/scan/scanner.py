"""The batch scan: extract, embed (cached), retrieve, verify, write outputs.

Stages, each with its own progress bar:

1. *extract + embed*: every document becomes items (figures and panels); an item whose
   content hash has a cached embedding for this model is not embedded again. Work is
   committed to the store as it goes, which is what makes a killed scan resumable.
2. *search*: one plain embedding per distinct image in a FAISS index (this scan's and the
   database's), queried with the 8 dihedral embeddings of each new image.
3. *verify*: the verifier scores each candidate pair (TTA on the query side); identical
   pixels short-cut to probability 1. Pairs of an item with itself, its own panel or
   parent figure are skipped.
4. *report*: matches.json, matches.csv, skipped.csv, report.html.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from dupscope.errors import ImageLoadError
from dupscope.evidence.dense import twin_similarity
from dupscope.io import dihedral_equal
from dupscope.preprocess import resize_square
from dupscope.scan.extract import (
    Input,
    Item,
    Skipped,
    discover,
    figure_items,
    item_pixels,
    iter_figures,
    load_figure,
)
from dupscope.scan.panels import PanelParams
from dupscope.scan.search import EXACT_LIMIT, build_index, dihedral_knn
from dupscope.scan.store import DocKey, Store, atomic_write

if TYPE_CHECKING:
    from dupscope.scan.geometry import KeypointCache

EvidenceFn = Callable[[np.ndarray, np.ndarray], "bytes | None"]

MAX_GROUP = 50  # items per identical-pixels group paired up (a logo on 500 pages: 50)
COPY_MOVE_VERSION = "cm2"  # bump when the detector changes: cached results are keyed by it
# Neighbours verified per image. Retrieval is by embedding cosine, which ranks a heavily
# edited copy (2-4 edits) lower than the head's probability would: a wide net is cheap,
# because the head scores thousands of pairs per second and geometry runs only on the
# candidates it does not rule out.
DEFAULT_K = 30
EXTRA_NEIGHBOURS = 6  # slack for neighbours that are trivial (own panels, own parent)


# --------------------------------------------------------------------------- results


@dataclass
class Match:
    a: Item
    b: Item
    probability: float
    kind: str  # "cross_document" | "same_document" | "same_figure" | "copy_move"
    exact: bool  # identical pixels, perhaps rotated or flipped

    def to_json(self) -> dict[str, Any]:
        def side(it: Item) -> dict[str, Any]:
            d = it.to_json()
            if it.indexed:
                d["db"] = True
            return d

        return {"a": side(self.a), "b": side(self.b), "probability": round(float(self.probability), 6),
                "kind": self.kind, "exact": self.exact}


@dataclass
class ScanResult:
    matches: list[Match]
    skipped: list[tuple[str, str]]
    n_documents: int
    n_items: int
    n_indexed_items: int
    n_candidates: int
    seconds: float
    threshold: float
    model: str
    out_dir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        db = f" (+{self.n_indexed_items} indexed)" if self.n_indexed_items else ""
        return (f"{self.n_documents} documents, {self.n_items} items{db}, {self.n_candidates} candidates, "
                f"{len(self.matches)} matches, {len(self.skipped)} skipped, {self.seconds:.1f} s")


@dataclass
class AddResult:
    n_documents: int
    n_items: int
    skipped: list[tuple[str, str]]
    seconds: float

    def summary(self) -> str:
        return (f"added {self.n_documents} documents, {self.n_items} items, "
                f"{len(self.skipped)} skipped, {self.seconds:.1f} s")


# --------------------------------------------------------------------------- helpers


# Candidates the verifier scores below this are not worth a geometric check.
FUSION_PREFILTER = 0.02
GEOMETRY_PER_IMAGE = 30
GEOMETRY_ALWAYS = 0.5
GEOMETRY_TWIN = 0.95  # thumbnail correlation that earns a check outside the budget
GEOMETRY_CHUNK = 512  # pairs whose images are detected together, in parallel
# Threads verifying pairs. OpenCV, the FFTs and numpy's bigger loops release the GIL: over
# a third of the validation pairs, two threads verified 1.45x as fast as one on 2 cores, and
# corpus seed 17's verify took 65 s against 84 s. Smooth blobs without keypoints, whose
# searches are small numpy steps, gain nothing (1k scale scan: 50.9 s against 47.4 s).
VERIFY_THREADS = min(4, os.cpu_count() or 1)
COPY_MOVE_CHUNK = 32  # panels decoded ahead of the copy-move threads


def _prefetch(entries: list, fn: Callable, ahead: int = 8):
    """Yield (entry, future of fn(entry)) in order, with ``ahead`` entries in flight."""
    from collections import deque

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dupscope-extract") as ex:
        queue: deque = deque()
        it = iter(entries)
        for e in it:
            queue.append((e, ex.submit(fn, e)))
            if len(queue) >= ahead:
                break
        while queue:
            e, fut = queue.popleft()
            nxt = next(it, None)
            if nxt is not None:
                queue.append((nxt, ex.submit(fn, nxt)))
            yield e, fut


_NOT_EMBEDDING = {"fusion_model", "threshold", "temperature", "distance_scale", "distance_offset",
                  "metrics", "training", "hidden_dim", "dropout", "fusion"}


def model_fingerprint(verifier) -> str:
    """Name plus a digest of config and weights: a retrained model never hits the cache."""
    h = hashlib.blake2b(digest_size=8)
    # Only what changes an embedding: a refitted fusion, threshold or temperature keeps the cache.
    cfg = {k: v for k, v in verifier.config.to_dict().items() if k not in _NOT_EMBEDDING}
    h.update(json.dumps(cfg, sort_keys=True, default=str).encode())
    for k, v in sorted(verifier.model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu").contiguous().numpy().tobytes())
    return f"{verifier.name}#{h.hexdigest()}"


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / small if small > 0 else 0.0


def trivial(a: Item, b: Item) -> bool:
    """The same picture region: an item with itself, its own panel or its parent figure."""
    if a.doc != b.doc or a.page != b.page:
        return False
    if a.figure == b.figure and (a.panel is None or b.panel is None or a.panel == b.panel):
        return True
    return _overlap(a.bbox, b.bbox) > 0.5


def kind_of(a: Item, b: Item) -> str:
    if a.doc != b.doc:
        return "cross_document"
    return "same_figure" if a.figure == b.figure else "same_document"


def _bar(progress: bool, total: int | None, desc: str, unit: str, position: int = 0):
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not progress,
                dynamic_ncols=True, leave=True, mininterval=0.5, position=position)


# --------------------------------------------------------------------------- scanner


def _geometry_todo(keys: list[tuple[int, int]], probs: np.ndarray) -> list[int]:
    """Candidates that get the geometric check: per image, its ``GEOMETRY_PER_IMAGE``
    best by the verifier (above ``FUSION_PREFILTER``), and every one above ``GEOMETRY_ALWAYS``.

    Geometry costs 1-20 ms a pair (keypoints are detected once per item), the head
    microseconds: an image is in its own k pairs and in others' (up to about 2k), and
    checking all of them for keypoint-rich figures would cost more than encoding them.
    On the seed-1 corpus a budget of 12 lost a heatmap copy once framed figures gained
    body items (more same-style candidates per image); 20 recovered it.
    Gels have many same-style siblings: a plain crop of one ranked 21st for both of its
    images (verifier 0.43, fresh corpus seed 10), and a copy on seed 6 fell outside 20
    too; 30 (the default k) finds both and checks about 35% more pairs.
    """
    taken: dict[int, int] = {}
    todo = []
    for n in np.argsort(-probs, kind="stable"):
        p = float(probs[n])
        if p < FUSION_PREFILTER:
            break
        i, j = keys[n]
        if p >= GEOMETRY_ALWAYS or taken.get(i, 0) < GEOMETRY_PER_IMAGE or taken.get(j, 0) < GEOMETRY_PER_IMAGE:
            todo.append(int(n))
            taken[i] = taken.get(i, 0) + 1
            taken[j] = taken.get(j, 0) + 1
    return sorted(todo)  # grouped by query image


def _twins_outside(keys: list[tuple[int, int]], cand: dict, items: list[Item], todo: set[int],
                   kp: KeypointCache) -> list[int]:
    """Candidates outside the budget whose thumbnails match as whole pictures (see
    :func:`~dupscope.evidence.dense.twin_similarity`): checked as well, whatever the head says.

    The head underrates some plain copies: a star field with an arrow drawn on it scored
    0.088 and ranked 37th and 31st for its two images (fresh corpus seed 11) at thumbnail
    correlation 0.987. Over seeds 0-2, 5 and 8-11, 0-1 other pairs a seed reach 0.95
    (measured with 32 x 32 views; 16 x 16 gave the same on seed 11). Only items already
    detected are compared (nothing new is decoded): about 8 us a pair, 0.2 ms an item.
    """
    out = []
    for n, key in enumerate(keys):
        if n in todo:
            continue
        i, j = cand[key][0]
        va, vb = kp.twin_views(items[i]), kp.twin_views(items[j])
        if va is not None and vb is not None and twin_similarity(va, vb) >= GEOMETRY_TWIN:
            out.append(n)
    return out


PART_SUPPORT = 0.5  # fused probability at which a pair of parts vouches for their figures


def _layout_only(keys: list[tuple[int, int]], probs: np.ndarray, cand: dict,
                 items: list[Item], threshold: float) -> set[tuple[int, int]]:
    """Whole-figure pairs above the threshold between two split composites none of
    whose parts match: (i, j) item pairs to leave out.

    A composite's panels are candidates of their own, so when one figure was made from
    the other its panels pair up too (at ``PART_SUPPORT`` or more). Two composites laid
    out on one grid (same panel sizes, gutters and letters) align as wholes on their
    panel frames and agree along the panel borders while no panel agrees: fluorescence
    nuclei against a star field, 18 inliers at 0.86 agreement (fresh corpus seed 9).
    """
    split = {(it.doc, it.figure) for it in items if it.panel is not None}

    def fig(i: int) -> tuple[int, str]:
        return items[i].doc, items[i].figure

    supported = set()
    wholes = []
    for key, p in zip(keys, probs):
        for i, j in cand[key]:
            if items[i].panel is None and items[j].panel is None:
                if p >= threshold and fig(i) in split and fig(j) in split:
                    wholes.append((i, j))
            elif p >= PART_SUPPORT:
                supported.add(frozenset((fig(i), fig(j))))
    return {(i, j) for i, j in wholes if frozenset((fig(i), fig(j))) not in supported}


class Scanner:
    """Scan papers and images for reused figures and panels.

    ``db``: a database folder (see :meth:`add`); without one, work is cached in the
    output folder so an interrupted scan resumes. ``threshold`` defaults to the model's.
    """

    def __init__(
        self,
        verifier,
        db: str | Path | None = None,
        threshold: float | None = None,
        k: int = DEFAULT_K,
        batch_size: int = 64,
        progress: bool = False,
        evidence_fn: EvidenceFn | None = None,
        panels: PanelParams = PanelParams(),
        exact_limit: int = EXACT_LIMIT,
        report_limit: int = 1000,
        fuse: bool = True,
        copy_move: bool = True,
    ) -> None:
        self.verifier = verifier
        self.copy_move = copy_move
        self.db = Path(db) if db is not None else None
        fusion = getattr(verifier.config, "fusion_model", None) if fuse else None
        # With a fitted fusion the decision is on the fused probability, at its own threshold.
        self.fusion = None
        default_t = verifier.threshold
        if fusion:
            from dupscope.evidence import FusionModel

            self.fusion = FusionModel.from_dict(fusion)
            # Corpus scans see many more candidate negatives than one pair: a stricter threshold.
            default_t = float(fusion.get("scan_threshold", fusion.get("threshold", verifier.threshold)))
        self.threshold = float(default_t if threshold is None else threshold)
        self._pixels: Callable[[Item], np.ndarray | None] = lambda it: None
        self.k = int(k)
        self.batch_size = int(batch_size)
        self.progress = progress
        self.evidence_fn = evidence_fn
        self.panels = panels
        self.exact_limit = exact_limit
        self.report_limit = report_limit
        self._model_key: str | None = None

    @property
    def model_key(self) -> str:
        if self._model_key is None:
            self._model_key = model_fingerprint(self.verifier)
        return self._model_key

    def _store(self, out_dir: Path | None) -> Store:
        if self.db is not None:
            return Store(self.db)
        if out_dir is None:
            raise ValueError("a database folder is needed to add documents")
        return Store(out_dir / ".dupscope-cache")

    # ------------------------------------------------------------------ public API

    def add(self, paths: Iterable[str | Path]) -> AddResult:
        """Add documents to the database index (plain embeddings only: cheap)."""
        if self.db is None:
            raise ValueError("Scanner.add needs a database folder (db=...)")
        t0 = time.perf_counter()
        skipped: Skipped = []
        store = self._store(None)
        try:
            inputs = discover(list(paths), skipped)
            docs = self._ingest(inputs, store, tta=False, skipped=skipped)
            store.mark_indexed([(d, inp.source) for inp, d, _ in docs])
            n_items = sum(len(items) for _, _, items in docs)
        finally:
            store.close()
        return AddResult(len(docs), n_items, skipped, time.perf_counter() - t0)

    def scan(self, paths: Iterable[str | Path], out_dir: str | Path | None = None) -> ScanResult:
        """Find reuse within ``paths`` and between them and the database; write outputs."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        out = Path(out_dir) if out_dir is not None else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        skipped: Skipped = []
        store = self._store(out)
        try:
            inputs = discover(list(paths), skipped)
            docs = self._ingest(inputs, store, tta=True, skipped=skipped)
            timings["extract_embed"] = time.perf_counter() - t0
            new_items = [it for _, _, items in docs for it in items]
            scanned = {d for _, d, _ in docs}
            t1 = time.perf_counter()
            db_items = self._indexed_items(store, exclude=scanned, skipped=skipped)
            timings["indexed"] = time.perf_counter() - t1
            doc_paths = {d: inp.path for inp, d, _ in docs}
            for it in db_items:
                if it.doc not in doc_paths:
                    doc_paths[it.doc] = store.doc_path(it.doc)
            self._pixels = self._pixel_fn(doc_paths)
            matches, n_cand, t_search = self._match(store, new_items, db_items)
            timings.update(t_search)
            if self.copy_move:
                t3 = time.perf_counter()
                matches += self._copy_moves(store, new_items)
                matches.sort(key=lambda m: (-round(m.probability, 6), m.a.key(), m.b.key()))
                timings["copy_move"] = time.perf_counter() - t3
            result = ScanResult(
                matches=matches, skipped=skipped, n_documents=len(docs), n_items=len(new_items),
                n_indexed_items=len(db_items), n_candidates=n_cand, seconds=0.0,
                threshold=self.threshold, model=self.verifier.name, out_dir=out, timings=timings,
            )
            if out is not None:
                t2 = time.perf_counter()
                result.seconds = time.perf_counter() - t0
                self._write_outputs(result, doc_paths)
                timings["report"] = time.perf_counter() - t2
        finally:
            store.close()
        result.seconds = time.perf_counter() - t0
        return result

    # ------------------------------------------------------------------ stage 1

    def _ingest(self, inputs: list[Input], store: Store, tta: bool, skipped: Skipped) -> list[tuple[Input, int, list[Item]]]:
        """Extract every document and make sure each distinct image is embedded."""
        pending: dict[str, np.ndarray] = {}
        docs: list[tuple[Input, int, list[Item]]] = []
        bar_docs = _bar(self.progress, len(inputs), "extract", "doc", 0)
        bar_emb = _bar(self.progress, None, "embed", "img", 1)

        def flush() -> None:
            if not pending:
                return
            hashes = list(pending)
            emb = self.verifier.embed_arrays([pending[h] for h in hashes], self.batch_size, tta=tta)
            store.put_embeddings(self.model_key, hashes, emb)
            bar_emb.update(len(hashes))
            pending.clear()

        # Which documents are already extracted (main thread: the connection is ours).
        keyed: list[tuple[Input, DocKey, tuple[int, list[str]] | None]] = []
        for inp in inputs:
            try:
                key = DocKey.of(inp.path)
            except OSError as exc:
                skipped.append((inp.source, f"cannot read file ({exc.strerror or exc})"))
                bar_docs.update(1)
                continue
            found = store.find_doc(key)
            reread = False
            if found is not None:  # extracted before; read again only if embeddings are missing
                hashes = [r[0] for r in store.con.execute("SELECT hash FROM items WHERE doc=?", (found[0],))]
                reread = bool(store.missing(self.model_key, hashes, tta))
            keyed.append((inp, key, found, reread))

        def work(entry):
            """Decode and split in a worker thread, overlapping the model's batches.

            All PDF work happens on this one thread (MuPDF is not thread-safe).
            """
            inp, _, found, reread = entry
            if found is not None and not reread:
                return None
            errs: Skipped = []
            items, pixels = self._extract(inp, errs)
            return items, pixels, errs

        try:
            for (inp, key, found, reread), fut in _prefetch(keyed, work):
                bar_docs.update(1)
                pixels: dict[str, np.ndarray] | None = None
                if found is not None:
                    doc, errs = found
                    items = store.doc_items(doc, inp.source)
                    skipped.extend((inp.source, e) for e in errs)
                    if reread:
                        try:
                            pixels = fut.result()[1]
                        except Exception as exc:  # noqa: BLE001 - changed or gone since
                            skipped.append((inp.source, f"cannot re-read document ({exc})"))
                            continue
                else:
                    try:
                        items, pixels, doc_errs = fut.result()
                    except ImageLoadError as exc:
                        skipped.append((inp.source, exc.reason))
                        continue
                    except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
                        skipped.append((inp.source, f"unexpected error: {type(exc).__name__}: {exc}"))
                        continue
                    doc = store.put_doc(key, inp.source, items, [r for _, r in doc_errs])
                    skipped.extend(doc_errs)
                    for it in items:
                        it.doc = doc
                docs.append((inp, doc, items))
                need = store.missing(self.model_key, (it.hash for it in items), tta) - set(pending)
                if not need:
                    continue
                if pixels is None:  # complete when we looked; the rest is pending in this batch
                    continue
                for h in sorted(need):
                    if h in pixels:
                        pending[h] = pixels[h]
                if len(pending) >= 2 * self.batch_size:
                    flush()
            flush()
        finally:
            bar_docs.close()
            bar_emb.close()
        # Documents whose images could not be re-read lack embeddings: drop those items.
        all_hashes = [it.hash for _, _, items in docs for it in items]
        lost = store.missing(self.model_key, all_hashes, tta)
        if lost:
            docs = [(inp, d, [it for it in items if it.hash not in lost]) for inp, d, items in docs]
        return docs

    def _extract(self, inp: Input, errs: Skipped) -> tuple[list[Item], dict[str, np.ndarray]]:
        items: list[Item] = []
        pixels: dict[str, np.ndarray] = {}
        size = int(self.verifier.config.input_size)
        for fig in iter_figures(inp, errs):
            for item, px in figure_items(fig, inp.source, self.panels):
                items.append(item)
                if item.hash not in pixels:
                    pixels[item.hash] = resize_square(px, size)
        return items, pixels

    def _indexed_items(self, store: Store, exclude: set[int], skipped: Skipped) -> list[Item]:
        """Items of the database index (not re-scanned now), embedded with this model."""
        out: list[Item] = []
        docs = [d for d in store.indexed_docs() if d[0] not in exclude]
        if not docs:
            return out
        size = int(self.verifier.config.input_size)
        for doc, source, path in docs:
            items = store.doc_items(doc, source)
            need = store.missing(self.model_key, (it.hash for it in items), tta=False)
            if need:  # indexed under another model: embed again from the file
                try:
                    _, pixels = self._extract(Input(source, Path(path), "pdf" if path.lower().endswith(".pdf") else "image"), [])
                except Exception as exc:  # noqa: BLE001
                    skipped.append((source, f"indexed document cannot be re-read ({exc})"))
                    continue
                hs = sorted(h for h in need if h in pixels)
                for s in range(0, len(hs), 256):
                    chunk = hs[s : s + 256]
                    emb = self.verifier.embed_arrays([resize_square(pixels[h], size) for h in chunk], self.batch_size)
                    store.put_embeddings(self.model_key, chunk, emb)
                items = [it for it in items if it.hash not in need or it.hash in pixels]
            for it in items:
                it.indexed = True
            out.extend(items)
        return out

    # ------------------------------------------------------------------ stages 2-3

    def _match(self, store: Store, new_items: list[Item], db_items: list[Item]) -> tuple[list[Match], int, dict[str, float]]:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        items = new_items + db_items
        by_hash: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            by_hash.setdefault(it.hash, []).append(i)
        new_hashes = list(dict.fromkeys(it.hash for it in new_items))
        new_set = set(new_hashes)
        db_hashes = [h for h in dict.fromkeys(it.hash for it in db_items) if h not in new_set]
        nq = len(new_hashes)
        if nq == 0:
            return [], 0, timings
        tta = store.get_embeddings(self.model_key, new_hashes, tta=True).astype(np.float32)
        plain_db = store.get_embeddings(self.model_key, db_hashes, tta=False).astype(np.float32)
        plain = np.concatenate([tta[:, 0], plain_db.reshape(len(db_hashes), tta.shape[2])])
        hashes = new_hashes + db_hashes
        groups = [by_hash[h][:MAX_GROUP] for h in hashes]
        timings["load"] = time.perf_counter() - t0

        def nontrivial_pairs(hi: int, hj: int) -> list[tuple[int, int]]:
            out = []
            for i in groups[hi]:
                for j in groups[hj]:
                    if i != j and not (items[i].indexed and items[j].indexed) and not trivial(items[i], items[j]):
                        out.append((i, j))
            return out

        # Stage 2: retrieval.
        t1 = time.perf_counter()
        bar = _bar(self.progress, 3, "search", "step", 0)
        index = build_index(plain, self.exact_limit)
        bar.update(1)
        ids, sims = dihedral_knn(index, tta, self.k + 1 + EXTRA_NEIGHBOURS)
        bar.update(1)
        cand: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for q in range(nq):
            taken = 0
            for j in ids[q]:
                j = int(j)
                if j < 0 or j == q:
                    continue
                key = (min(q, j), max(q, j))
                if key not in cand:
                    pairs = nontrivial_pairs(*key)
                    if not pairs:
                        continue
                    cand[key] = pairs
                taken += 1
                if taken >= self.k:
                    break
        bar.update(1)
        bar.close()
        timings["search"] = time.perf_counter() - t1

        # Stage 3: verification. Identical pixels, also up to a rotation/flip, short-cut to 1.0.
        t2 = time.perf_counter()
        matches: list[Match] = []
        for h in range(nq):
            if len(groups[h]) > 1:
                for i, j in nontrivial_pairs(h, h):
                    if i < j:
                        matches.append(self._make_match(items[i], items[j], 1.0, exact=True))
        turned = self._dihedral_copies(groups, items, nq, nontrivial_pairs)
        for pairs in turned.values():
            matches.extend(self._make_match(items[i], items[j], 1.0, exact=True) for i, j in pairs)
        keys = sorted(k for k in cand if k not in turned)
        probs = self._verify(plain, tta, keys, nq)
        if self.fusion is not None:
            probs = self._fuse(keys, probs, cand, items)
        unsupported = _layout_only(keys, probs, cand, items, self.threshold)
        for key, p in zip(keys, probs):
            if p >= self.threshold:
                for i, j in cand[key]:
                    if (i, j) not in unsupported:
                        matches.append(self._make_match(items[i], items[j], float(p), exact=False))
        matches.sort(key=lambda m: (-round(m.probability, 6), m.a.key(), m.b.key()))
        timings["verify"] = time.perf_counter() - t2
        return matches, len(keys) + len(turned) + sum(1 for h in range(nq) if len(groups[h]) > 1), timings

    def _dihedral_copies(self, groups: list[list[int]], items: list[Item], nq: int,
                         nontrivial_pairs: Callable[[int, int], list[tuple[int, int]]]) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """Pairs of distinct content hashes whose pixels are equal up to a rotation/flip:
        (hash index pair) -> item pairs, each confirmed on the full pixels.

        A pixel-exact mirror of a smooth, bare picture (a blob, a gradient) has too few
        keypoints for a geometric fit, and the verifier alone scored such pairs 0.11 (scale
        benchmark, session 12): exact equality needs no model. Items are grouped by
        :func:`~dupscope.io.dihedral_key`, so only key collisions are decoded and compared.
        """
        by_key: dict[str, list[int]] = {}
        for h, g in enumerate(groups):
            dkey = items[g[0]].dkey
            if dkey:
                by_key.setdefault(dkey, []).append(h)
        out: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for hs in by_key.values():
            hs = hs[:MAX_GROUP]
            for a, hi in enumerate(hs):
                if hi >= nq:  # hash indices are ascending: the rest are all indexed
                    break
                for hj in hs[a + 1 :]:
                    pairs = nontrivial_pairs(hi, hj)
                    if not pairs:
                        continue
                    pa, pb = self._pixels(items[groups[hi][0]]), self._pixels(items[groups[hj][0]])
                    if pa is not None and pb is not None and dihedral_equal(pa, pb):
                        out[(hi, hj)] = pairs
        return out

    def _verify(self, plain: np.ndarray, tta: np.ndarray, keys: list[tuple[int, int]], nq: int, chunk: int = 2048) -> np.ndarray:
        """Probability per hash pair; both directions when both sides have TTA views."""
        probs = np.zeros(len(keys), np.float32)
        bar = _bar(self.progress, len(keys), "verify", "pair", 0)
        for s in range(0, len(keys), chunk):
            block = np.asarray(keys[s : s + chunk], np.int64).reshape(-1, 2)
            i, j = block[:, 0], block[:, 1]  # i < j, so i is always a new (query) image
            p = self.verifier.score_embeddings(plain[j], tta[i])
            both = j < nq
            if both.any():
                p2 = self.verifier.score_embeddings(plain[i[both]], tta[j[both]])
                p[both] = np.maximum(p[both], p2)
            probs[s : s + len(block)] = p
            bar.update(len(block))
        bar.close()
        return probs

    @staticmethod
    def _make_match(x: Item, y: Item, p: float, exact: bool) -> Match:
        a, b = sorted((x, y), key=lambda it: (it.indexed, it.key()))
        return Match(a, b, p, kind_of(a, b), exact)

    # ------------------------------------------------------------------ stage 4

    @staticmethod
    def _pixel_fn(doc_paths: dict[int, Path]) -> Callable[[Item], np.ndarray | None]:
        """Pixels of an item, with a small cache of decoded figures."""
        cache: dict[tuple, np.ndarray | None] = {}

        def pixels(it: Item) -> np.ndarray | None:
            fkey = (it.doc, it.figure)
            if fkey not in cache:
                try:
                    cache[fkey] = load_figure(doc_paths[it.doc], it.origin)
                except Exception:  # noqa: BLE001 - one unreadable figure is not worth failing a scan
                    cache[fkey] = None
                if len(cache) > 256:
                    cache.pop(next(iter(cache)))
            fig = cache[fkey]
            return None if fig is None else item_pixels(doc_paths[it.doc], it, fig)

        return pixels

    def _fuse(self, keys: list[tuple[int, int]], probs: np.ndarray, cand: dict, items: list[Item]) -> np.ndarray:
        """Fused probability (verifier + geometric evidence) for candidates worth a look.

        Keypoints are the costly part (an image is in ~k pairs): each item's are detected
        once, on a thread pool, a chunk of pairs ahead (see :mod:`dupscope.scan.geometry`).
        """
        from dupscope.evidence.verify import verify_either_way
        from dupscope.scan.geometry import KeypointCache

        out = probs.copy()
        todo = _geometry_todo(keys, probs)
        kp = KeypointCache(self._pixels)
        bar = _bar(self.progress, len(todo), "geometry", "pair", 0)

        def fused(n: int, pair: tuple[int, int]) -> float | None:
            fa, fb = kp.get(items[pair[0]]), kp.get(items[pair[1]])
            if fa is None or fb is None:
                return None
            try:
                # Panels are items of their own here: no second panel search.
                return self.fusion.predict(float(probs[n]), verify_either_way(fa, fb))
            except (cv2.error, ValueError):  # degenerate panel: keep the verifier's score
                return None

        def check(ns: list[int]) -> None:
            with ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="dupscope-verify") as pool:
                for start in range(0, len(ns), GEOMETRY_CHUNK):
                    block = ns[start : start + GEOMETRY_CHUNK]
                    chunk = [cand[keys[n]][0] for n in block]
                    kp.prefetch(items[k] for pair in chunk for k in pair)
                    for n, p in zip(block, pool.map(fused, block, chunk)):
                        if p is not None:
                            out[n] = p
                        bar.update(1)

        check(todo)
        twins = _twins_outside(keys, cand, items, set(todo), kp)
        bar.total = len(todo) + len(twins)
        check(twins)
        bar.close()
        return out

    def _copy_moves(self, store: Store, items: list[Item]) -> list[Match]:
        """Regions duplicated inside one panel (or one unsplit figure), as ``copy_move``.

        Reuse *between* panels of a figure is already a ``same_figure`` match, so only the
        leaves are searched: each panel, and each figure that was not split. Results are
        cached per content hash, so a resumed or repeated scan does not redo them. The
        detector's own checks find the regions (see :mod:`dupscope.evidence.copy_move`);
        ``probability`` is its confidence, reported like every match at >= the threshold.
        """
        from dupscope.evidence.copy_move import detect_copy_move

        split = {(it.doc, it.figure) for it in items if it.panel is not None}
        by_hash: dict[str, list[Item]] = {}
        for it in items:
            if it.panel is not None or (it.doc, it.figure) not in split:
                by_hash.setdefault(it.hash, []).append(it)
        keys = {h: f"{COPY_MOVE_VERSION}:{h}" for h in by_hash}
        cached = store.get_copy_move(list(keys.values()))
        bar = _bar(self.progress, len(by_hash), "copy-move", "img", 0)

        def detect(px: np.ndarray | None) -> list[dict] | None:
            if px is None:
                return None
            try:
                res = detect_copy_move(px)
            except (cv2.error, ValueError):  # degenerate panel: nothing to report
                res = None
            if res is None or not res.found:
                return []
            return [{"source_box": r.source_box, "target_box": r.target_box,
                     "probability": round(r.confidence, 6), "shape": list(px.shape[:2])} for r in res.regions]

        # Decoded here (PyMuPDF is not thread-safe), detected on threads, a chunk at a time.
        todo = [h for h in by_hash if cached.get(keys[h]) is None]
        bar.update(len(by_hash) - len(todo))
        found: dict[str, list[dict] | None] = {}
        with ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="dupscope-copy-move") as pool:
            for start in range(0, len(todo), COPY_MOVE_CHUNK):
                chunk = todo[start : start + COPY_MOVE_CHUNK]
                pixels = [self._pixels(by_hash[h][0]) for h in chunk]
                for h, regions in zip(chunk, pool.map(detect, pixels)):
                    if regions is not None:
                        store.put_copy_move(keys[h], regions)
                    found[h] = regions
                    bar.update(1)
        bar.close()
        out: list[Match] = []
        for h, its in by_hash.items():
            regions = found.get(h, cached.get(keys[h]))
            for it in its if regions else []:
                for r in regions:
                    if r["probability"] < self.threshold:
                        continue
                    a = region_item(it, r["source_box"], r["shape"])
                    b = region_item(it, r["target_box"], r["shape"])
                    out.append(Match(a, b, float(r["probability"]), "copy_move", exact=False))
        return out

    def _write_outputs(self, result: ScanResult, doc_paths: dict[int, Path]) -> None:
        from dupscope.report import write_report

        out = result.out_dir
        assert out is not None
        atomic_write(out / "matches.json", json.dumps([m.to_json() for m in result.matches], indent=1))
        atomic_write(out / "matches.csv", matches_csv(result.matches))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["source", "reason"])
        w.writerows(result.skipped)
        atomic_write(out / "skipped.csv", buf.getvalue())

        pixels = self._pixel_fn(doc_paths)

        shown = result.matches[: self.report_limit]
        bar = _bar(self.progress, len(shown), "report", "match", 0)
        summary = {
            "documents": result.n_documents, "items": result.n_items, "indexed_items": result.n_indexed_items,
            "candidates": result.n_candidates, "matches": len(result.matches), "skipped": len(result.skipped),
            "threshold": result.threshold, "model": result.model, "seconds": round(result.seconds, 1),
        }
        html = write_report(
            [m.to_json() for m in shown], [(m.a, m.b) for m in shown], pixels, out / "report.html",
            summary=summary, skipped=result.skipped, evidence_fn=self.evidence_fn,
            total_matches=len(result.matches), progress=bar.update,
        )
        bar.close()
        del html


def region_item(it: Item, box: Sequence[float], shape: Sequence[int]) -> Item:
    """The part ``box`` (pixels of the item's ``shape``) of an item, as an item of its own."""
    h, w = int(shape[0]), int(shape[1])
    x0, y0, x1, y1 = (float(v) for v in box)
    ox, oy = (it.pbox[0], it.pbox[1]) if it.pbox is not None else (0, 0)
    pbox = (ox + int(math.floor(x0)), oy + int(math.floor(y0)),
            ox + int(math.ceil(x1)), oy + int(math.ceil(y1)))
    bx0, by0, bx1, by1 = it.bbox
    sx, sy = (bx1 - bx0) / max(w, 1), (by1 - by0) / max(h, 1)
    bbox = (bx0 + x0 * sx, by0 + y0 * sy, bx0 + x1 * sx, by0 + y1 * sy)
    return replace(it, bbox=bbox, pbox=pbox)


def matches_csv(matches: list[Match]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ["source", "page", "x0", "y0", "x1", "y1", "panel"]
    w.writerow([f"{s}_{c}" for s in "ab" for c in cols] + ["probability", "kind", "exact"])
    for m in matches:
        row: list[Any] = []
        for it in (m.a, m.b):
            d = it.to_json()
            row += [d["source"], "" if d["page"] is None else d["page"], *d["bbox"],
                    "" if d["panel"] is None else d["panel"]]
        w.writerow(row + [f"{m.probability:.6f}", m.kind, int(m.exact)])
    return buf.getvalue()
