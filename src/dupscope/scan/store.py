"""The database folder: documents, their items, and an embedding cache, in one SQLite file.

Everything a scan computes is committed as it goes, in transactions, so a scan killed at
any instant (even ``kill -9``) leaves a consistent file and the next run reuses all the
finished work. Embeddings are stored fp16, keyed by (model fingerprint, content hash):
an image seen before is never embedded again, and a different model invalidates.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from dupscope.scan.extract import EXTRACT_VERSION, Item

DB_FILE = "dupscope.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,          -- resolved path on disk
    source TEXT NOT NULL,        -- as given by the user when first seen
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    version INTEGER NOT NULL,    -- EXTRACT_VERSION
    n_items INTEGER NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0,
    added REAL NOT NULL,
    UNIQUE (path, size, mtime_ns, version)
);
CREATE TABLE IF NOT EXISTS items (
    doc INTEGER NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,          -- JSON: page, bbox, panel, figure, origin, pbox, dkey
    hash TEXT NOT NULL,
    PRIMARY KEY (doc, idx)
);
CREATE INDEX IF NOT EXISTS items_hash ON items(hash);
CREATE TABLE IF NOT EXISTS errors (doc INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS emb (
    model TEXT NOT NULL,
    hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    plain BLOB NOT NULL,         -- fp16 (D,)
    tta BLOB,                    -- fp16 (8, D), NULL until some scan queried with it
    PRIMARY KEY (model, hash)
);
CREATE TABLE IF NOT EXISTS copymove (
    key TEXT PRIMARY KEY,        -- detector version : content hash
    result TEXT NOT NULL         -- JSON: regions in the item's pixels, or []
);
"""


@dataclass(frozen=True)
class DocKey:
    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "DocKey":
        st = path.stat()
        return cls(str(path.resolve()), int(st.st_size), int(st.st_mtime_ns))


class Store:
    """SQLite-backed store; one connection, one writer (the scanning process)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_FILE
        self.con = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        with self.tx():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self.con.execute(stmt)
            row = self.con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self.con.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema {row[0]}, this dupscope reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self.con.close()

    def tx(self):
        return _Tx(self.con)

    # ------------------------------------------------------------------ documents

    def find_doc(self, key: DocKey) -> tuple[int, list[str]] | None:
        """Id and recorded errors of a document already extracted, or None."""
        row = self.con.execute(
            "SELECT id FROM docs WHERE path=? AND size=? AND mtime_ns=? AND version=?",
            (key.path, key.size, key.mtime_ns, EXTRACT_VERSION),
        ).fetchone()
        if row is None:
            return None
        errs = [r[0] for r in self.con.execute("SELECT reason FROM errors WHERE doc=?", (row[0],))]
        return int(row[0]), errs

    def put_doc(self, key: DocKey, source: str, items: list[Item], errors: list[str]) -> int:
        """Record a document's items in one transaction (all or nothing)."""
        with self.tx():
            cur = self.con.execute(
                "INSERT INTO docs (path, source, size, mtime_ns, version, n_items, added) VALUES (?,?,?,?,?,?,?)",
                (key.path, source, key.size, key.mtime_ns, EXTRACT_VERSION, len(items), time.time()),
            )
            doc = int(cur.lastrowid)
            self.con.executemany(
                "INSERT INTO items (doc, idx, data, hash) VALUES (?,?,?,?)",
                [(doc, i, json.dumps(_item_data(it)), it.hash) for i, it in enumerate(items)],
            )
            self.con.executemany("INSERT INTO errors (doc, reason) VALUES (?,?)", [(doc, e) for e in errors])
        return doc

    def doc_items(self, doc: int, source: str | None = None) -> list[Item]:
        if source is None:
            source = self.con.execute("SELECT source FROM docs WHERE id=?", (doc,)).fetchone()[0]
        rows = self.con.execute("SELECT data, hash FROM items WHERE doc=? ORDER BY idx", (doc,)).fetchall()
        return [_item_from(json.loads(d), h, source, doc) for d, h in rows]

    def doc_path(self, doc: int) -> Path:
        return Path(self.con.execute("SELECT path FROM docs WHERE id=?", (doc,)).fetchone()[0])

    def mark_indexed(self, docs: Iterable[tuple[int, str]]) -> None:
        """Add documents (id, source label) to the index, in one transaction."""
        with self.tx():
            self.con.executemany("UPDATE docs SET indexed=1, source=? WHERE id=?", [(s, d) for d, s in docs])

    def indexed_docs(self) -> list[tuple[int, str, str]]:
        """(id, source, path) of every document added to the index, oldest first."""
        return [(int(i), s, p) for i, s, p in
                self.con.execute("SELECT id, source, path FROM docs WHERE indexed=1 ORDER BY id")]

    # ------------------------------------------------------------------ embeddings

    def missing(self, model: str, hashes: Iterable[str], tta: bool) -> set[str]:
        """The hashes among ``hashes`` with no cached embedding (of the kind needed)."""
        hashes = list(dict.fromkeys(hashes))
        col = "tta IS NOT NULL" if tta else "1"
        have: set[str] = set()
        for s in range(0, len(hashes), 500):
            chunk = hashes[s : s + 500]
            q = f"SELECT hash FROM emb WHERE model=? AND {col} AND hash IN ({','.join('?' * len(chunk))})"
            have.update(r[0] for r in self.con.execute(q, (model, *chunk)))
        return set(hashes) - have

    def put_embeddings(self, model: str, hashes: list[str], emb: np.ndarray) -> None:
        """Store (N, D) plain or (N, 8, D) TTA embeddings; plain is the identity view."""
        emb16 = np.asarray(emb, np.float16)
        with self.tx():
            for h, e in zip(hashes, emb16):
                plain = e[0] if e.ndim == 2 else e
                tta = e.tobytes() if e.ndim == 2 else None
                if tta is None:
                    self.con.execute(
                        "INSERT INTO emb (model, hash, dim, plain) VALUES (?,?,?,?) "
                        "ON CONFLICT(model, hash) DO NOTHING",
                        (model, h, int(plain.shape[-1]), plain.tobytes()),
                    )
                else:
                    self.con.execute(
                        "INSERT INTO emb (model, hash, dim, plain, tta) VALUES (?,?,?,?,?) "
                        "ON CONFLICT(model, hash) DO UPDATE SET plain=excluded.plain, tta=excluded.tta",
                        (model, h, int(plain.shape[-1]), plain.tobytes(), tta),
                    )

    def get_embeddings(self, model: str, hashes: list[str], tta: bool) -> np.ndarray:
        """fp16 (N, D) or (N, 8, D) in the order of ``hashes``; all must be present."""
        col = "tta" if tta else "plain"
        found: dict[str, np.ndarray] = {}
        for s in range(0, len(hashes), 500):
            chunk = hashes[s : s + 500]
            q = f"SELECT hash, dim, {col} FROM emb WHERE model=? AND hash IN ({','.join('?' * len(chunk))})"
            for h, dim, blob in self.con.execute(q, (model, *chunk)):
                if blob is not None:
                    a = np.frombuffer(blob, np.float16)
                    found[h] = a.reshape(8, dim) if tta else a
        missing = [h for h in hashes if h not in found]
        if missing:
            raise KeyError(f"{len(missing)} embeddings missing from the cache, e.g. {missing[0]}")
        if not hashes:
            return np.zeros((0, 8, 0) if tta else (0, 0), np.float16)
        return np.stack([found[h] for h in hashes])

    # ------------------------------------------------------------------ copy-move

    def get_copy_move(self, keys: list[str]) -> dict[str, list]:
        """Cached copy-move regions per key (absent keys were never checked)."""
        out: dict[str, list] = {}
        for s in range(0, len(keys), 500):
            chunk = keys[s : s + 500]
            q = f"SELECT key, result FROM copymove WHERE key IN ({','.join('?' * len(chunk))})"
            out.update((k, json.loads(r)) for k, r in self.con.execute(q, chunk))
        return out

    def put_copy_move(self, key: str, regions: list) -> None:
        with self.tx():
            self.con.execute("INSERT OR REPLACE INTO copymove (key, result) VALUES (?,?)",
                             (key, json.dumps(regions)))

    def stats(self) -> dict[str, int]:
        one = lambda q: int(self.con.execute(q).fetchone()[0])  # noqa: E731
        return {
            "documents": one("SELECT COUNT(*) FROM docs WHERE indexed=1"),
            "items": one("SELECT COUNT(*) FROM items JOIN docs ON items.doc=docs.id WHERE docs.indexed=1"),
            "embeddings": one("SELECT COUNT(*) FROM emb"),
        }


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")
        return False


def _item_data(it: Item) -> dict:
    return {"page": it.page, "bbox": list(it.bbox), "panel": it.panel, "figure": it.figure,
            "origin": it.origin, "pbox": None if it.pbox is None else list(it.pbox), "dkey": it.dkey}


def _item_from(d: dict, h: str, source: str, doc: int) -> Item:
    return Item(source, d["page"], tuple(d["bbox"]), d["panel"], d["figure"], d["origin"],
                None if d["pbox"] is None else tuple(d["pbox"]), h, doc=doc, dkey=d.get("dkey", ""))


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write via a temp file in the same folder and os.replace: never a half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
