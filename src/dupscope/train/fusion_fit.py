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

import numpy as np

from dupscope.data.datasets import read_pairs_csv
from dupscope.eval.evaluate import pair_embeddings
from dupscope.eval.metrics import summary, threshold_at_fpr
from dupscope.evidence import fit_fusion, verify_pairs
from dupscope.models.checkpoint import checkpoint_paths
from dupscope.verifier import load_model


def fit_for_checkpoint(model: str | Path, pairs_csv: str | Path, workers: int = 2) -> dict:
    v = load_model(model, device="cpu")
    rows = read_pairs_csv(pairs_csv)
    y = np.array([int(float(r["label"])) for r in rows])
    p = v.score_embeddings(*pair_embeddings(v, rows))
    ev = verify_pairs([(r["a"], r["b"]) for r in rows], workers)
    fusion = fit_fusion(p, ev, y)
    fused = fusion.predict_many(p, ev)
    stored = {**fusion.to_dict(), "threshold": float(max(0.5, threshold_at_fpr(y, fused, 0.01))), "fitted_on": str(pairs_csv)}
    _, cfg_path = checkpoint_paths(model)
    cfg = json.loads(cfg_path.read_text())
    # A scan threshold is chosen on a corpus benchmark, not here: keep it across refits.
    old = cfg.get("fusion_model") or {}
    stored.update({k: v for k, v in old.items() if k.startswith("scan_")})
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
