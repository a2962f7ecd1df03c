"""Fit the verifier + geometry fusion on held-out pairs and store it in a checkpoint.

    python -m dupscope.train.fusion_fit --model runs/default/model --pairs runs/default/val/pairs.csv

The fused probability becomes the default of ``compare`` and ``scan`` for that checkpoint;
its decision threshold is set on the same pairs at 1% false-positive rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from dupscope.data.datasets import read_pairs_csv
from dupscope.eval.evaluate import embed_unique
from dupscope.eval.metrics import summary, threshold_at_fpr
from dupscope.evidence import fit_fusion, verify_pairs
from dupscope.models.checkpoint import checkpoint_paths
from dupscope.verifier import Verifier, load_model


def verifier_probabilities(v: Verifier, rows: Sequence[dict[str, str]]) -> np.ndarray:
    emb, errors = embed_unique(v, [r[k] for r in rows for k in ("a", "b")])
    if errors:
        raise ValueError(f"unreadable images in the fusion pairs: {sorted(errors)[:3]}")
    return v.score_embeddings(np.stack([emb[r["a"]] for r in rows]), np.stack([emb[r["b"]] for r in rows]))


def fit_for_checkpoint(model: str | Path, pairs_csv: str | Path, workers: int = 2) -> dict:
    v = load_model(model, device="cpu")
    rows = read_pairs_csv(pairs_csv)
    y = np.array([int(float(r["label"])) for r in rows])
    p = verifier_probabilities(v, rows)
    ev = verify_pairs([(r["a"], r["b"]) for r in rows], workers)
    fusion = fit_fusion(p, ev, y)
    fused = fusion.predict_many(p, ev)
    stored = {**fusion.to_dict(), "threshold": float(max(0.5, threshold_at_fpr(y, fused, 0.01))), "fitted_on": str(pairs_csv)}
    _, cfg_path = checkpoint_paths(model)
    cfg = json.loads(cfg_path.read_text())
    cfg["fusion_model"] = stored
    cfg.setdefault("metrics", {})["fusion_validation"] = {"verifier": summary(y, p), "fused": summary(y, fused)}
    tmp = cfg_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cfg, indent=2))
    tmp.replace(cfg_path)
    return cfg["metrics"]["fusion_validation"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", required=True, help="held-out labelled pairs (a,b,label)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    print(json.dumps(fit_for_checkpoint(args.model, args.pairs, args.workers), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
