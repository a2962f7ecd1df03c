"""``dupscope evaluate PAIRS.csv``: score a labelled pair set and report the figures."""

from __future__ import annotations

import argparse
import json
import sys

from dupscope.cli.common import add_model_options, load_verifier


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a CSV of labelled pairs (a,b,label[,group])")
    p.add_argument("pairs", help="CSV with columns a,b,label and optionally group")
    p.add_argument("--scores-out", default=None, help="CSV: the input columns plus probability")
    p.add_argument("--json-out", default=None, help="metrics JSON")
    p.add_argument("--plot", default=None, help="ROC curve PNG")
    p.add_argument("--no-fusion", action="store_true", help="score with the siamese verifier alone, without geometric fusion")
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dupscope.data.datasets import read_pairs_csv
    from dupscope.eval.evaluate import evaluate_csv

    n_images = len({r[k] for r in read_pairs_csv(args.pairs) for k in ("a", "b")})
    verifier = load_verifier(args)
    with tqdm(total=n_images, unit="img", desc="encoding", file=sys.stderr, disable=None) as bar:
        result = evaluate_csv(
            verifier, args.pairs, args.scores_out, args.json_out, args.plot, args.batch_size, progress=bar.update,
            fuse=not args.no_fusion,
        )
    for s in result.skipped:
        print(f"dupscope: skipped pair: {s['file']}: {s['reason']}", file=sys.stderr)
    m = result.metrics
    brief = {k: m.get(k) for k in ("roc_auc", "average_precision", "tpr_at_fpr_1pct", "threshold_at_fpr_1pct", "ece",
                                   "scored", "skipped", "pairs_per_second")}
    # Per group: TPR (derived groups) or false-positive rate (distinct ones) at that threshold.
    brief["share_above_threshold"] = {g: v["share_above_threshold"] for g, v in m.get("groups", {}).items()}
    print(json.dumps(brief, indent=2))
    return 0
