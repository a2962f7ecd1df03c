"""Planted-reuse benchmark: generate a seeded corpus of PDF papers, scan it, score it.

    python benchmarks/corpus_benchmark.py --out /tmp/corpus_bench --seed 0 --papers 20 [--model PATH]

Prints recall of planted events and precision of reported matches at the model's
threshold, a threshold sweep (from one extra low-threshold pass, embeddings cached),
recall by event kind and by transform group, and the events missed.
Targets with the trained default model: recall >= 0.95 and precision >= 0.90.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from dupscope.scan.scanner import DEFAULT_K

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="corpus_bench", help="working folder (corpus, db, scan outputs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--papers", type=int, default=20)
    ap.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threshold", type=float, default=None, help="default: the model's")
    ap.add_argument("--k", type=int, default=DEFAULT_K, help="neighbours verified per image")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--regenerate", action="store_true", help="write the corpus again even if present")
    ap.add_argument("--json", default=None, help="also write the metrics here")
    args = ap.parse_args(argv)

    from dupscope.corpus import CorpusConfig, generate_corpus, kind_counts, score_matches
    from dupscope.scan import Scanner
    from dupscope.verifier import load_model

    out = Path(args.out)
    corpus = out / f"corpus_s{args.seed}_p{args.papers}"
    truth = corpus / "truth.json"
    t = time.perf_counter()
    if args.regenerate or not truth.is_file():
        cfg = CorpusConfig(n_papers=args.papers)
        scale = args.papers / 20
        cfg.events = {k: max(1, round(v * scale)) for k, v in cfg.events.items()}
        generate_corpus(corpus, seed=args.seed, config=cfg)
    t_gen = time.perf_counter() - t
    tr = json.loads(truth.read_text())
    kinds = kind_counts(tr)
    print(f"corpus: {len(tr['papers'])} papers, {len(tr['panels'])} panels, {len(tr['events'])} planted events "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), seed {args.seed} [{t_gen:.1f} s]")

    v = load_model(args.model, device=args.device)
    threshold = Scanner(v).threshold if args.threshold is None else args.threshold
    db = out / "cache_db"  # used as an embedding cache only: nothing is added to its index
    scanner = Scanner(v, db=db, threshold=threshold, k=args.k, batch_size=args.batch_size, progress=True)
    res = scanner.scan([str(corpus / "papers")], out / "scan")
    print(f"scan: {res.summary()}  (model {v.name}, device {v.device}, threshold {threshold:.3f})")
    s = score_matches(out / "scan" / "matches.json", truth)
    print(f"\nAT THRESHOLD {threshold:.3f}: recall {s.recall:.3f} ({s.n_found}/{s.n_events})  "
          f"precision {s.precision:.3f} ({s.n_correct}/{s.n_matches})")
    print("recall by kind:  " + ", ".join(f"{k} {r:.2f}" for k, r in s.recall_by_kind.items()))
    print("recall by edit:  " + ", ".join(f"{k} {r:.2f}" for k, r in s.recall_by_group.items()))

    low = min(0.05, threshold)
    sweep_res = Scanner(v, db=db, threshold=low, k=args.k, batch_size=args.batch_size).scan(
        [str(corpus / "papers")], out / "sweep")
    matches = json.loads((out / "sweep" / "matches.json").read_text())
    print(f"\n{'threshold':>9} {'recall':>7} {'precision':>9} {'matches':>8}")
    sweep = []
    for th in sorted({0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, round(threshold, 3)}):
        if th < low:
            continue
        x = score_matches(matches, tr, threshold=th)
        sweep.append({"threshold": th, "recall": x.recall, "precision": x.precision, "matches": x.n_matches})
        mark = "  <- model threshold" if abs(th - threshold) < 1e-9 else ""
        print(f"{th:>9.3f} {x.recall:>7.3f} {x.precision:>9.3f} {x.n_matches:>8}{mark}")
    del sweep_res
    if s.missed:
        print(f"\nmissed {len(s.missed)} events:")
        for ev in s.missed[:15]:
            print(f"  #{ev['id']} {ev['kind']:<15} {ev['transform']['group']:<12} "
                  f"{ev['a']['source']} p{ev['a']['page']} {ev['a']['figure']}{chr(65 + ev['a']['panel'])} -> "
                  f"{ev['b']['source']} p{ev['b']['page']} {ev['b']['figure']}{chr(65 + ev['b']['panel'])} "
                  f"[{', '.join(o['name'] for o in ev['transform']['ops'])}]")
    target = s.recall >= 0.95 and s.precision >= 0.90
    print(f"\ntarget (recall >= 0.95, precision >= 0.90): {'MET' if target else 'not met'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"score": s.to_json(), "sweep": sweep, "threshold": threshold,
                                               "model": v.name, "scan_seconds": res.seconds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
