"""``dupscope scan PATH... --out DIR``: find reused figures and panels in papers and images."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from dupscope.cli.common import add_model_options, load_verifier
from dupscope.errors import DupscopeError
from dupscope.scan.scanner import DEFAULT_K


def add_model_args(p: argparse.ArgumentParser) -> None:
    add_model_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def default_evidence_fn() -> Callable | None:
    """dupscope.evidence's picture of a match, if that module provides one."""
    try:
        import dupscope.evidence as ev
    except Exception:  # noqa: BLE001 - evidence is optional
        return None
    return getattr(ev, "evidence_png", None)


def run_scan(args: argparse.Namespace) -> int:
    from dupscope.scan import Scanner

    try:
        verifier = load_verifier(args)
    except (DupscopeError, ValueError) as exc:
        print(f"dupscope scan: {exc}", file=sys.stderr)
        return 2
    scanner = Scanner(
        verifier, db=args.db, threshold=args.threshold, k=args.k, batch_size=args.batch_size,
        progress=not args.quiet, evidence_fn=None if args.no_evidence else default_evidence_fn(),
        report_limit=args.report_limit, copy_move=not args.no_copy_move,
    )
    result = scanner.scan(args.paths, args.out)
    if args.add and args.db:
        scanner.add(args.paths)  # everything is cached by now: this only marks them indexed
    print(f"scan: {result.summary()} -> {args.out}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "scan", help="find image reuse in PDFs, images and folders",
        description="Extract every figure and panel from the given PDFs, images and folders "
                    "(recursively), and report pairs that look derived from one another, within "
                    "and across documents and against a database built with 'dupscope index add'. "
                    "Writes matches.json, matches.csv, report.html and skipped.csv to --out. "
                    "Interrupted scans resume where they stopped.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="PDF, image file or folder")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--db", default=None, metavar="DB", help="database folder to check against")
    p.add_argument("--add", action="store_true", help="also add the scanned documents to --db")
    p.add_argument("--threshold", type=float, default=None, help="report probability >= T (default: the model's)")
    p.add_argument("--k", type=int, default=DEFAULT_K, help="nearest neighbours verified per image")
    p.add_argument("--report-limit", type=int, default=1000, help="matches shown in report.html")
    p.add_argument("--no-copy-move", action="store_true",
                   help="skip the search for regions duplicated inside one panel or image")
    p.add_argument("--no-evidence", action="store_true", help="skip evidence pictures in the report")
    add_model_args(p)
    p.set_defaults(func=run_scan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dupscope")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scan", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
