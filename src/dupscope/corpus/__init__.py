"""A seeded test corpus of PDF papers with planted figure reuse, and its scorer.

>>> from dupscope.corpus import generate_corpus, score_matches
>>> info = generate_corpus("corpus/", seed=0)
>>> # dupscope scan corpus/papers --out out/
>>> s = score_matches("out/matches.json", info.truth_path)
>>> print(s.recall, s.precision)
"""

from dupscope.corpus.generate import KINDS, CorpusConfig, CorpusInfo, generate_corpus
from dupscope.corpus.score import Score, kind_counts, score_matches, stands_for

__all__ = ["KINDS", "CorpusConfig", "CorpusInfo", "Score", "generate_corpus", "kind_counts",
           "score_matches", "stands_for"]
