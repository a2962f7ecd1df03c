"""Options shared by every subcommand that runs the model."""

from __future__ import annotations

import argparse


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="checkpoint path (NAME or NAME.safetensors); default: bundled model")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto picks a GPU when present (fp16)")
    p.add_argument("--batch-size", type=int, default=32)


def load_verifier(args: argparse.Namespace):
    from dupscope.verifier import load_model

    return load_model(args.model, device=args.device)
