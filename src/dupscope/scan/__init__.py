"""Batch scanning of papers and image folders for reused figures and panels.

>>> from dupscope import load_model
>>> from dupscope.scan import Scanner
>>> result = Scanner(load_model(), db="papers.db").scan(["new_paper.pdf"], "out/")
>>> print(result.summary())
"""

from dupscope.scan.extract import Figure, Input, Item, discover, figure_items, iter_figures
from dupscope.scan.panels import PanelParams, split_panels
from dupscope.scan.scanner import AddResult, Match, Scanner, ScanResult, kind_of, model_fingerprint, trivial
from dupscope.scan.search import build_index, dihedral_knn
from dupscope.scan.store import Store

__all__ = [
    "AddResult", "Figure", "Input", "Item", "Match", "PanelParams", "ScanResult", "Scanner", "Store",
    "build_index", "dihedral_knn", "discover", "figure_items", "iter_figures", "kind_of",
    "model_fingerprint", "split_panels", "trivial",
]
