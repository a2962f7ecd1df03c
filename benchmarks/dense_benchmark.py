"""What the dense fallback of the geometric evidence adds, on a labelled pair set.

    python benchmarks/dense_benchmark.py runs/default/val/pairs.csv

For every pair (whole images, no panel search) it verifies once with keypoints only and once
with the dense fallback (``dupscope.evidence.dense``), and prints per group how many pairs
each finds: on derived groups the extra finds are recall, on ``neg_*`` groups they are
false accusations. Also prints the median time of one ``dense_align`` call.
Tune on the validation split; report the test split.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter, defaultdict

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from dupscope.data.datasets import read_pairs_csv
    from dupscope.errors import ImageLoadError
    from dupscope.evidence.dense import dense_align
    from dupscope.evidence.features import extract_features
    from dupscope.evidence.verify import verify_features

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", help="CSV with columns a,b,label[,group] (paths relative to the CSV)")
    ap.add_argument("--limit", type=int, default=0, help="first N pairs only (0: all)")
    args = ap.parse_args(argv)

    rows = read_pairs_csv(args.pairs)
    if args.limit:
        rows = rows[: args.limit]
    counts: dict[str, Counter] = defaultdict(Counter)
    times: list[float] = []
    for r in rows:
        g = r.get("group") or ("derived" if int(float(r["label"])) else "distinct")
        try:
            fa, fb = extract_features(r["a"]), extract_features(r["b"])
        except ImageLoadError as e:
            print(f"skipped: {e}", file=sys.stderr)
            counts[g]["skipped"] += 1
            continue
        kp = verify_features(dataclasses.replace(fa, thumb=None), dataclasses.replace(fb, thumb=None))
        t = time.perf_counter()
        dense_align(fa.thumb, fb.thumb)
        times.append(time.perf_counter() - t)
        ev = kp if kp.found else verify_features(fa, fb)
        counts[g]["pairs"] += 1
        counts[g]["keypoints"] += int(kp.found)
        counts[g]["dense_only"] += int(ev.found and not kp.found)

    print(f"{'group':<16}{'pairs':>6}{'keypoints':>11}{'+dense':>8}")
    for g, c in sorted(counts.items()):
        print(f"{g:<16}{c['pairs']:>6}{c['keypoints']:>11}{c['dense_only']:>8}")
    neg = [c for g, c in counts.items() if g.startswith("neg") or g == "distinct"]
    pos = [c for g, c in counts.items() if not (g.startswith("neg") or g == "distinct")]
    print(f"\nderived pairs found only by the dense fallback: {sum(c['dense_only'] for c in pos)}"
          f" of {sum(c['pairs'] for c in pos)}")
    print(f"distinct pairs found only by the dense fallback: {sum(c['dense_only'] for c in neg)}"
          f" of {sum(c['pairs'] for c in neg)}")
    if times:
        print(f"dense_align: median {1000 * float(np.median(times)):.1f} ms, "
              f"mean {1000 * float(np.mean(times)):.1f} ms over {len(times)} pairs (one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
