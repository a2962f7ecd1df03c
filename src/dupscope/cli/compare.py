"""``dupscope compare A B``: one pair, one probability."""

from __future__ import annotations

import argparse
import json
import sys

from dupscope.cli.common import add_model_options, load_verifier


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="probability that one image was derived from the other")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--threshold", type=float, default=None, help="decision threshold (default: the model's)")
    p.add_argument("--explain", action="store_true", help="add geometric evidence: the recovered transformation")
    p.add_argument("--visualize", metavar="OUT.png", default=None, help="write a match picture (implies --explain)")
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dupscope.api import compare_pair

    verifier = load_verifier(args)
    result = compare_pair(
        verifier, args.a, args.b, threshold=args.threshold,
        explain=args.explain or bool(args.visualize), visualize=args.visualize,
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        verdict = "DERIVED (duplicate)" if result.duplicate else "distinct"
        print(f"{result.probability:.4f}  {verdict}  (threshold {result.threshold:.3f})")
        if result.transform and result.transform.get("found"):
            t = result.transform
            which = "B from A" if t.get("derived", "b") == "b" else "A from B"
            print(
                f"  {which}: rotation {t['rotation_deg']:.1f} deg, mirrored {t['mirrored']}, scale {t['scale']:.3f}, "
                f"crop_box_a {[round(v) for v in t['crop_box_a']]}, inliers {t['inliers']}"
            )
        if args.visualize:
            print(f"  picture: {args.visualize}", file=sys.stderr)
    return 0
