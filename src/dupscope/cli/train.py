"""``dupscope train``: train a verifier (Lightning; multi-GPU DDP with --devices N)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields


def register(sub: argparse._SubParsersAction) -> None:
    from dupscope.train.run import TrainConfig

    p = sub.add_parser("train", help="train a verifier on a pool, a folder, Airbnb layout or a pair CSV")
    p.add_argument("data", help="pool.csv from `dupscope-build-pool`, image folder, Airbnb folder, or pairs CSV")
    defaults = TrainConfig(data="")
    for f in fields(TrainConfig):
        if f.name in ("data", "extra"):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        kind = type(default) if default is not None else str
        p.add_argument(flag, type=kind, default=default, help=f"(default: {default})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dupscope.train.run import TrainConfig, train

    kw = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "extra"}
    ckpt = train(TrainConfig(**kw), argv=sys.argv[2:])
    print(f"checkpoint: {ckpt}.safetensors (+ .json)")
    return 0
