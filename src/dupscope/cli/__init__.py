"""``dupscope`` command line: a thin layer over the Python API.

Each subcommand lives in its own module exposing ``register(subparsers)``.
Exit status: 0 success, 1 runtime failure, 2 bad input (named file and reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dupscope import __version__
from dupscope.errors import DupscopeError, ImageLoadError, ModelLoadError

SUBCOMMANDS = ("compare", "evaluate", "train", "scan", "index")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dupscope", description="Find image reuse in scientific publications."
    )
    parser.add_argument("--version", action="version", version=f"dupscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"dupscope.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dupscope.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ImageLoadError as exc:
        print(f"dupscope: error: {exc.source}: {exc.reason}", file=sys.stderr)
        return 2
    except (ModelLoadError, FileNotFoundError, ValueError) as exc:
        print(f"dupscope: error: {exc}", file=sys.stderr)
        return 2
    except DupscopeError as exc:
        print(f"dupscope: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dupscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
