"""The planted-reuse corpus generator and its scorer."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pymupdf")
generators = pytest.importorskip("dupscope.generators")
pytest.importorskip("dupscope.transforms")

from dupscope.corpus import CorpusConfig, generate_corpus, score_matches, stands_for  # noqa: E402
from dupscope.scan.extract import discover, figure_items, iter_figures  # noqa: E402

SMALL = CorpusConfig(n_papers=3, figures_per_paper=(2, 2), panels_per_figure=(2, 4), families=("western_blot", "gel", "starfield"),
                     events={"cross_document": 2, "same_document": 1, "same_figure": 1})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    info = generate_corpus(out, seed=3, config=SMALL)
    return info, json.loads(info.truth_path.read_text())


def test_corpus_structure_and_determinism(corpus, tmp_path):
    info, truth = corpus
    assert sorted(p.name for p in info.papers_dir.glob("*.pdf")) == truth["papers"] == [
        "paper_000.pdf", "paper_001.pdf", "paper_002.pdf"]
    assert [e["kind"] for e in truth["events"]] == ["cross_document"] * 2 + ["same_document", "same_figure"]
    for e in truth["events"]:
        a, b = e["a"], e["b"]
        assert (a["source"] != b["source"]) == (e["kind"] == "cross_document")
        assert (a["figure"] == b["figure"] and a["source"] == b["source"]) == (e["kind"] == "same_figure")
        assert e["transform"]["ops"] is not None
    used = [(e[s]["source"], e[s]["figure"], e[s]["panel"]) for e in truth["events"] for s in "ab"]
    assert len(used) == len(set(used))  # a panel takes part in at most one event
    again = generate_corpus(tmp_path, seed=3, config=SMALL)
    assert json.loads(again.truth_path.read_text())["events"] == truth["events"]


def test_planted_panels_are_extracted_where_truth_says(corpus):
    info, truth = corpus
    items = []
    for inp in discover([info.papers_dir], []):
        for fig in iter_figures(inp, []):
            items += [it.to_json() | {"source": inp.path.name} for it, _ in figure_items(fig, inp.path.name)]
    for p in truth["panels"]:
        own = [it for it in items if it["panel"] is not None or not p["composite"]]
        assert any(stands_for(it, p) for it in own), p


def test_scorer(corpus):
    _, truth = corpus
    evs = truth["events"]
    perfect = [{"a": e["b"], "b": e["a"], "probability": 0.9, "kind": e["kind"]} for e in evs]
    s = score_matches(perfect, truth)
    assert (s.recall, s.precision, s.n_found) == (1.0, 1.0, len(evs))
    # A whole-figure box containing the planted panel counts; a prefix path is fine.
    e = evs[0]
    fig_box = [0.0, 0.0, 612.0, 792.0]
    whole = {"a": {**e["a"], "source": "/data/run/" + e["a"]["source"], "bbox": fig_box, "panel": None},
             "b": e["b"], "probability": 0.8, "kind": "cross_document"}
    wrong_page = {"a": {**e["a"], "page": e["a"]["page"] + 7}, "b": e["b"], "probability": 0.99, "kind": "x"}
    elsewhere = {"a": {**e["a"], "bbox": [0.0, 0.0, 5.0, 5.0]}, "b": e["b"], "probability": 0.99, "kind": "x"}
    s = score_matches([whole, wrong_page, elsewhere], truth)
    assert s.n_found == 1 and s.precision == pytest.approx(1 / 3) and len(s.false_positives) == 2
    assert s.recall_by_kind["cross_document"] == 0.5
    s = score_matches([whole, wrong_page], truth, threshold=0.9)
    assert s.n_matches == 1 and s.n_found == 0
