"""``dupscope index add PATH... --db DB``: grow a database of papers to scan against."""

from __future__ import annotations

import argparse
import json
import sys

from dupscope.cli.common import load_verifier
from dupscope.cli.scan import add_model_args
from dupscope.errors import DupscopeError


def run_add(args: argparse.Namespace) -> int:
    from dupscope.scan import Scanner

    try:
        verifier = load_verifier(args)
    except (DupscopeError, ValueError) as exc:
        print(f"dupscope index add: {exc}", file=sys.stderr)
        return 2
    result = Scanner(verifier, db=args.db, batch_size=args.batch_size, progress=not args.quiet).add(args.paths)
    for source, reason in result.skipped:
        print(f"skipped {source}: {reason}", file=sys.stderr)
    print(f"index: {result.summary()} -> {args.db}", file=sys.stderr)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dupscope.scan import Store
    from dupscope.scan.store import DB_FILE

    if not (Path(args.db) / DB_FILE).is_file():
        print(f"dupscope index info: no database in {args.db}", file=sys.stderr)
        return 2
    store = Store(args.db)
    try:
        print(json.dumps(store.stats(), indent=2))
    finally:
        store.close()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("index", help="manage a database of indexed papers",
                              description="A database folder that grows: add papers once, then "
                                          "'dupscope scan --db DB' checks new material against all of them.")
    sub = p.add_subparsers(dest="index_command", required=True)
    a = sub.add_parser("add", help="add PDFs, images or folders to the database")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.add_argument("--db", required=True, metavar="DB", help="database folder (created if missing)")
    add_model_args(a)
    a.set_defaults(func=run_add)
    i = sub.add_parser("info", help="counts of documents, items and embeddings")
    i.add_argument("--db", required=True, metavar="DB")
    i.set_defaults(func=run_info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dupscope")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["index", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
