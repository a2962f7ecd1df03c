"""A scan killed with SIGKILL mid-way resumes from its cache and ends with the same result."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

# The child slows embedding down so the kill lands mid-scan, deterministically.
CHILD = """
import sys, time
import torch
torch.set_num_threads(1)
import dupscope.verifier as V
orig = V.Verifier.embed_arrays
def slow(self, *a, **k):
    time.sleep(0.25)
    return orig(self, *a, **k)
V.Verifier.embed_arrays = slow
from dupscope.cli.scan import main
sys.exit(main(sys.argv[1:]))
"""

from scan_helpers import blobs as shared_blobs  # noqa: E402


def blobs(seed: int, h: int = 80, w: int = 96) -> np.ndarray:
    return shared_blobs(seed, h, w, radius=(5, 20), n=8)


def emb_rows(db_file) -> int:
    if not db_file.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM emb").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_kill9_then_resume_gives_same_matches(tiny_checkpoint, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(30):
        img = blobs(i % 20)  # ten exact duplicates across files
        if i >= 20 and i % 2:
            img = np.ascontiguousarray(img[:, ::-1])  # and some mirrored ones
        Image.fromarray(img).save(data / f"img{i:02d}.png")
    args = [str(data), "--model", str(tiny_checkpoint), "--device", "cpu", "--quiet",
            "--threshold", "0.0", "--k", "3", "--batch-size", "2"]
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db_file = out / ".dupscope-cache" / "dupscope.sqlite"
    deadline = time.time() + 45
    while emb_rows(db_file) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"scan ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = emb_rows(db_file)
    distinct = 25  # 20 images, 5 of them also mirrored
    assert 6 <= partial < distinct  # killed mid-way: some, not all, images embedded
    assert not (out / "matches.json").exists()

    con = sqlite3.connect(db_file)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    import torch

    from dupscope.cli.scan import main

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        calls = []
        import dupscope.verifier as V

        orig = V.Verifier.embed_arrays
        V.Verifier.embed_arrays = lambda self, *a, **k: calls.append(len(a[0])) or orig(self, *a, **k)
        try:
            assert main([*args, "--out", str(out)]) == 0
        finally:
            V.Verifier.embed_arrays = orig
        assert sum(calls) == distinct - partial  # only the unfinished work is done again
        clean = tmp_path / "clean"
        assert main([*args, "--out", str(clean)]) == 0
    finally:
        torch.set_num_threads(n)
    resumed = json.loads((out / "matches.json").read_text())
    expected = json.loads((clean / "matches.json").read_text())
    assert resumed == expected and len(expected) > 10
    assert (out / "matches.csv").read_text() == (clean / "matches.csv").read_text()
