"""End-to-end scans with the tiny random model: outputs, kinds, database, cache, CLI."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

pymupdf = pytest.importorskip("pymupdf")

from dupscope.scan import Scanner, build_index, dihedral_knn  # noqa: E402
from dupscope.scan.extract import Item  # noqa: E402
from dupscope.scan.scanner import trivial  # noqa: E402
from dupscope.verifier import load_model  # noqa: E402


from scan_helpers import blobs, png  # noqa: E402


def composite(panels: list[np.ndarray], gutter: int = 10) -> np.ndarray:
    h, w = panels[0].shape[:2]
    out = np.full((h + 2 * gutter, len(panels) * (w + gutter) + gutter, 3), 255, np.uint8)
    for i, p in enumerate(panels):
        out[gutter : gutter + h, gutter + i * (w + gutter) : gutter + i * (w + gutter) + w] = p
    return out


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """On 2 shared cores torch's thread pool spin-waits under load: 30x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def verifier(tiny_checkpoint):
    return load_model(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Images and a PDF with reuse across files, within a paper and within a figure."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "imgs" / "sub").mkdir(parents=True)
    a, b, c, d = blobs(1), blobs(2), blobs(3), blobs(4)
    Image.fromarray(a).save(root / "imgs" / "a.png")
    Image.fromarray(a).save(root / "imgs" / "sub" / "a_copy.png")
    Image.fromarray(b).save(root / "imgs" / "b.png")
    (root / "imgs" / "broken.png").write_bytes(b"not an image")
    doc = pymupdf.open()
    p1 = doc.new_page()
    p1.insert_image(pymupdf.Rect(72, 72, 272, 222), stream=png(c))
    p1.insert_image(pymupdf.Rect(72, 300, 540, 420), stream=png(composite([d, b, d])))
    p2 = doc.new_page()
    p2.insert_image(pymupdf.Rect(300, 72, 500, 222), stream=png(c))
    doc.save(root / "paper.pdf")
    return root


def test_scan_outputs_and_kinds(verifier, corpus, tmp_path):
    out = tmp_path / "out"
    res = Scanner(verifier, threshold=0.999999).scan([corpus / "imgs", corpus / "paper.pdf"], out)
    assert res.n_documents == 4 and len(res.skipped) == 1
    got = json.loads((out / "matches.json").read_text())
    by = {(m["a"]["source"].split("/")[-1], m["a"]["panel"], m["b"]["source"].split("/")[-1], m["b"]["panel"],
           m["a"]["page"], m["b"]["page"]): m for m in got}
    # a.png == sub/a_copy.png: across documents
    m = by[("a.png", None, "a_copy.png", None, None, None)]
    assert m["kind"] == "cross_document" and m["probability"] == 1.0 and m["exact"]
    assert m["a"]["bbox"] == [0.0, 0.0, 128.0, 96.0]
    # the same image on pages 1 and 2 of the paper: same document, bboxes in points
    m = by[("paper.pdf", None, "paper.pdf", None, 1, 2)]
    assert m["kind"] == "same_document" and m["a"]["bbox"] == [72.0, 72.0, 272.0, 222.0]
    # panels 0 and 2 of one composite are identical: same figure
    m = by[("paper.pdf", 0, "paper.pdf", 2, 1, 1)]
    assert m["kind"] == "same_figure"
    x0, y0, x1, y1 = m["a"]["bbox"]
    assert 72 <= x0 < x1 <= 540 and 300 <= y0 < y1 <= 420
    # b.png is panel 1 of the composite
    assert ("b.png", None, "paper.pdf", 1, None, 1) in by
    for m in got:  # never an item with its own panel or parent figure
        a, b = m["a"], m["b"]
        assert not (a["source"] == b["source"] and a["page"] == b["page"] and (a["panel"] is None or b["panel"] is None)
                    and a["bbox"][0] <= b["bbox"][0] < b["bbox"][2] <= a["bbox"][2])
    rows = list(csv.DictReader(io.StringIO((out / "matches.csv").read_text())))
    assert len(rows) == len(got) and rows[0]["a_source"] == got[0]["a"]["source"]
    skipped = list(csv.reader(io.StringIO((out / "skipped.csv").read_text())))
    assert skipped[0] == ["source", "reason"] and skipped[1][0].endswith("broken.png")
    html = (out / "report.html").read_text()
    assert "data:image/jpeg;base64," in html and "http://" not in html and "https://" not in html
    assert res.summary().count("matches") == 1


def test_threshold_zero_reports_candidates_never_trivial(verifier, corpus, tmp_path):
    res = Scanner(verifier, threshold=0.0, k=3).scan([corpus / "imgs", corpus / "paper.pdf"], tmp_path / "o")
    assert res.matches and all(m.kind == "copy_move" or not trivial(m.a, m.b) for m in res.matches)
    # k bounds the work: candidates per distinct image <= k
    assert res.n_candidates <= 3 * res.n_items


def test_database_add_then_scan_and_cache(verifier, corpus, tmp_path, monkeypatch):
    db = tmp_path / "db"
    scanner = Scanner(verifier, db=db, threshold=0.999999)
    added = scanner.add([corpus / "paper.pdf"])
    assert added.n_documents == 1 and added.n_items >= 6
    new = tmp_path / "new"
    new.mkdir()
    Image.fromarray(blobs(3)).save(new / "c_again.png")  # the paper's page-1 image
    res = scanner.scan([new], tmp_path / "out")
    assert res.n_indexed_items == added.n_items
    hits = [m for m in res.matches if m.b.indexed]
    assert sorted(m.b.page for m in hits) == [1, 2]  # the paper shows it on both pages
    assert all(m.a.source.endswith("c_again.png") and m.kind == "cross_document" for m in hits)
    assert json.loads((tmp_path / "out" / "matches.json").read_text())[0]["b"]["db"] is True
    # Scanning again embeds nothing: every image is cached by content hash.
    calls = []
    orig = verifier.embed_arrays
    monkeypatch.setattr(verifier, "embed_arrays", lambda *a, **k: calls.append(len(a[0])) or orig(*a, **k))
    res2 = Scanner(verifier, db=db, threshold=0.999999).scan([new], tmp_path / "out2")
    assert calls == [] and [m.to_json() for m in res2.matches] == [m.to_json() for m in res.matches]
    # The paper itself, scanned against the DB holding it, is not matched with itself.
    res3 = Scanner(verifier, db=db, threshold=0.999999).scan([corpus / "paper.pdf"], tmp_path / "out3")
    assert res3.n_indexed_items == 0 and all(m.kind != "cross_document" for m in res3.matches)


def test_other_model_invalidates_cache(verifier, tiny_checkpoint, corpus, tmp_path):
    from dupscope.models import create_model, save_checkpoint

    db = tmp_path / "db"
    Scanner(verifier, db=db).add([corpus / "imgs"])
    other_path = tmp_path / "other"
    save_checkpoint(create_model(encoder="tiny_test", input_size=64, embed_dim=32, hidden_dim=16), other_path)
    other = load_model(other_path, device="cpu")
    calls = []
    orig = other.embed_arrays
    other.embed_arrays = lambda *a, **k: calls.append(len(a[0])) or orig(*a, **k)
    res = Scanner(other, db=db, threshold=0.999999).scan([corpus / "paper.pdf"], tmp_path / "o")
    assert sum(calls) > 0 and res.n_indexed_items == 3  # a, a_copy, b re-embedded with the new model


def test_dihedral_search_finds_rotated_and_mirrored(verifier):
    base = [blobs(s, 96, 96) for s in range(10, 20)]
    rot = np.ascontiguousarray(np.rot90(base[0]))
    mir = np.ascontiguousarray(base[1][:, ::-1])
    tta = verifier.embed_arrays(base + [rot, mir], tta=True)
    index = build_index(tta[:, 0])
    ids, sims = dihedral_knn(index, tta[-2:], k=2)
    assert ids[0, 1] == 0 or ids[0, 0] == 0
    assert 1 in ids[1, :2]
    assert sims[0, 1] > 0.98 and sims[1, 1] > 0.98


def test_trivial_pairs():
    whole = Item("x.pdf", 1, (0, 0, 100, 100), None, "f", {}, None, "h1", doc=1)
    panel = Item("x.pdf", 1, (0, 0, 50, 50), 0, "f", {}, (0, 0, 50, 50), "h2", doc=1)
    panel2 = Item("x.pdf", 1, (50, 50, 100, 100), 1, "f", {}, (50, 50, 100, 100), "h3", doc=1)
    other = Item("y.pdf", 1, (0, 0, 100, 100), None, "f", {}, None, "h1", doc=2)
    assert trivial(whole, panel) and not trivial(panel, panel2) and not trivial(whole, other)


def test_cli_scan_and_index(tiny_checkpoint, corpus, tmp_path):
    from dupscope.cli import index as index_cli
    from dupscope.cli import scan as scan_cli

    common = ["--model", str(tiny_checkpoint), "--device", "cpu", "--quiet"]
    assert index_cli.main(["add", str(corpus / "imgs"), "--db", str(tmp_path / "db"), *common]) == 0
    out = tmp_path / "out"
    rc = scan_cli.main([str(corpus / "paper.pdf"), "--out", str(out), "--db", str(tmp_path / "db"),
                        "--threshold", "0.999999", "--k", "5", *common])
    assert rc == 0 and (out / "report.html").is_file()
    got = json.loads((out / "matches.json").read_text())
    assert any(m["b"].get("db") for m in got)  # b.png from the database is panel 1 of the composite
    assert scan_cli.main([str(corpus / "paper.pdf"), "--out", str(out), "--model", str(tmp_path / "nope")]) == 2


def test_scan_reports_copy_move_inside_one_image(verifier, tmp_path, monkeypatch):
    from test_copy_move import blot_like

    import dupscope.evidence.copy_move as cm

    folder = tmp_path / "figs"
    folder.mkdir()
    img = blot_like(3)
    forged = img.copy()
    forged[150:230, 140:230] = img[20:100, 20:110]  # a region pasted elsewhere in the figure
    Image.fromarray(forged).save(folder / "forged.png")
    Image.fromarray(blot_like(11)).save(folder / "clean.png")
    out = tmp_path / "out"
    res = Scanner(verifier, threshold=0.5).scan([folder], out)
    got = [m for m in json.loads((out / "matches.json").read_text()) if m["kind"] == "copy_move"]
    assert got and {m["a"]["source"].split("/")[-1] for m in got} == {"forged.png"}
    m = got[0]
    assert m["a"]["source"] == m["b"]["source"] and 0.5 <= m["probability"] <= 1.0
    src, tgt = sorted([m["a"]["bbox"], m["b"]["bbox"]])  # pixels of the plain image
    assert 17 <= src[0] and src[2] <= 113 and 17 <= src[1] and src[3] <= 103
    assert 137 <= tgt[0] and tgt[2] <= 233 and 147 <= tgt[1] and tgt[3] <= 233
    assert "copy_move" in (out / "matches.csv").read_text()
    assert "copy_move" in (out / "report.html").read_text()

    # Cached per content hash: a repeated scan does not run the detector again.
    def boom(*a, **k):
        raise AssertionError("copy-move should come from the cache")

    monkeypatch.setattr(cm, "detect_copy_move", boom)
    again = Scanner(verifier, threshold=0.5).scan([folder], out)
    assert sum(m.kind == "copy_move" for m in again.matches) == len(got)
    # Like every match, a copy-move is reported only at or above the threshold.
    assert not any(m.kind == "copy_move" for m in Scanner(verifier, threshold=0.999999).scan([folder], out).matches)
    assert not any(m.kind == "copy_move" for m in Scanner(verifier, threshold=0.5, copy_move=False).scan([folder], tmp_path / "o2").matches)


def test_fingerprint_ignores_fusion_and_threshold_but_not_weights(verifier):
    import copy

    import torch

    from dupscope.scan.scanner import model_fingerprint

    before = model_fingerprint(verifier)
    other = copy.deepcopy(verifier)
    other.config.fusion_model = {"weights": [1.0], "bias": 0.0}
    other.config.threshold = 0.123
    assert model_fingerprint(other) == before  # embeddings unchanged: the cache stays valid
    with torch.no_grad():
        next(other.model.parameters()).add_(0.01)
    assert model_fingerprint(other) != before


def test_geometry_budget_per_image():
    """Each image gets its best few candidates checked, confident ones always, none below the prefilter."""
    from dupscope.scan import scanner as S

    per = S.GEOMETRY_PER_IMAGE
    # Image 0 has many weak candidates; one strong pair elsewhere; one below the prefilter.
    keys = [(0, 10 + n) for n in range(per + 5)] + [(1, 2), (3, 4)]
    probs = np.array([0.2 - 0.001 * n for n in range(per + 5)] + [0.9, S.FUSION_PREFILTER / 2], np.float32)
    todo = S._geometry_todo(keys, probs)
    assert todo == sorted(todo)
    assert len(todo) - 1 == per + 5  # each weak pair is still its partner's best candidate
    keys2 = [(0, 1)] * (per + 5)  # both sides saturated: the budget binds
    probs2 = np.linspace(0.4, 0.3, per + 5).astype(np.float32)
    probs2[-1] = 0.95  # ... except above GEOMETRY_ALWAYS
    got = S._geometry_todo(keys2, probs2)
    # The confident pair is checked and uses a slot; the weakest of the rest are not.
    assert got == list(range(per - 1)) + [len(probs2) - 1]


def test_whole_composites_match_only_with_a_matching_part():
    """Two composites on one grid agree along their panel frames; a copy's panels match too."""
    from dupscope.scan import scanner as S

    def fig(doc: int, panels: int) -> list[Item]:
        out = [Item(f"{doc}.pdf", 1, (0, 0, 200, 100), None, "F1", {}, None, f"h{doc}", doc=doc)]
        out += [Item(f"{doc}.pdf", 1, (100 * k, 0, 100 * k + 90, 100), k, "F1", {}, (0, 0, 90, 100), f"h{doc}{k}", doc=doc)
                for k in range(panels)]
        return out

    items = fig(1, 2) + fig(2, 2) + fig(3, 0) + fig(4, 0)  # 0-2, 3-5 split; 6 and 7 single images
    keys = [(0, 3), (1, 4), (2, 5), (6, 7), (0, 6)]
    cand = {k: [k] for k in keys}
    probs = np.array([0.95, 0.2, 0.3, 0.9, 0.9])
    assert S._layout_only(keys, probs, cand, items, 0.7) == {(0, 3)}
    probs[2] = S.PART_SUPPORT  # one pair of panels vouches for the figures
    assert S._layout_only(keys, probs, cand, items, 0.7) == set()


def test_whole_picture_twins_outside_the_budget_are_checked():
    """A candidate left out by the budget is checked when its thumbnails correlate as
    wholes; an unrelated one is not, nor is a pair whose keypoints were never detected."""
    from dupscope.evidence.dense import twin_views
    from dupscope.scan import scanner as S

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (48, 36)).astype(np.uint8)
    thumbs = {"a": base, "b": np.clip(base.astype(int) + 3, 0, 255).astype(np.uint8)[:, ::-1],
              "c": rng.integers(0, 255, (48, 36)).astype(np.uint8)}

    class It:
        def __init__(self, h: str):
            self.hash = h

    class Cache:  # what KeypointCache.twin_views answers: None for items never detected
        def twin_views(self, it):
            return twin_views(thumbs[it.hash]) if it.hash in thumbs else None

    items = [It("a"), It("b"), It("c"), It("d")]
    keys = [(0, 1), (0, 2), (1, 3), (0, 3)]
    cand = {k: [k] for k in keys}
    assert S._twins_outside(keys, cand, items, set(), Cache()) == [0]
    assert S._twins_outside(keys, cand, items, {0}, Cache()) == []  # already checked


def smooth_blob(cx: float, cy: float, h: int = 90, w: int = 120) -> np.ndarray:
    """A soft off-centre spot: almost no keypoints, so no geometric fit can vouch for a copy."""
    yy, xx = np.mgrid[:h, :w]
    g = np.exp(-(((xx - cx) / 30.0) ** 2 + ((yy - cy) / 20.0) ** 2))
    return np.stack([40 + 200 * g, 30 + 120 * g, 90 + 60 * g], -1).astype(np.uint8)


def test_rotated_and_mirrored_pixel_exact_copies_short_cut_to_one(verifier, tmp_path):
    """Exact copies up to a rotation/flip are matched by pixels, whatever the model says;
    a sibling (the spot moved by a few pixels) is not."""
    src = smooth_blob(40, 35)
    files = {"orig.png": src, "mirror.png": src[:, ::-1], "turned.png": np.rot90(src),
             "sibling.png": smooth_blob(44, 38)}
    for name, img in files.items():
        Image.fromarray(np.ascontiguousarray(img)).save(tmp_path / name)
    doc = pymupdf.open()
    doc.new_page().insert_image(pymupdf.Rect(72, 72, 252, 207), stream=png(np.ascontiguousarray(src[::-1])))
    doc.save(tmp_path / "paper.pdf")
    inputs = [tmp_path / n for n in files] + [tmp_path / "paper.pdf"]
    res = Scanner(verifier, threshold=0.999999, copy_move=False).scan(inputs, tmp_path / "out")
    pairs = {frozenset((m.a.source.split("/")[-1], m.b.source.split("/")[-1])): m for m in res.matches}
    copies = {"orig.png", "mirror.png", "turned.png", "paper.pdf"}
    for a in copies:
        for b in copies - {a}:
            m = pairs[frozenset((a, b))]
            assert m.exact and m.probability == 1.0 and m.kind == "cross_document"
    assert not any("sibling.png" in p for p in pairs)
