"""Checkpoints are two files: ``NAME.safetensors`` (weights) and ``NAME.json`` (config).

Nothing is ever unpickled on load; weights may be stored fp16 to keep the repo small.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from dupscope.errors import ModelLoadError
from dupscope.models.config import ModelConfig
from dupscope.models.siamese import SiameseVerifier


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(model: SiameseVerifier, path: str | Path, fp16: bool = True) -> tuple[Path, Path]:
    weights_path, config_path = checkpoint_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        if fp16 and v.is_floating_point():
            v = v.half()
        state[k] = v
    tmp = weights_path.with_suffix(".safetensors.tmp")
    save_file(state, str(tmp), metadata={"format": "pt", "dupscope": "1"})
    os.replace(tmp, weights_path)
    _atomic_write_bytes(config_path, json.dumps(model.config.to_dict(), indent=2).encode())
    return weights_path, config_path


def load_config(path: str | Path) -> ModelConfig:
    _, config_path = checkpoint_paths(path)
    if not config_path.is_file():
        raise ModelLoadError(f"{config_path}: model config not found")
    try:
        return ModelConfig.from_dict(json.loads(config_path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{config_path}: invalid model config ({exc})") from exc


def load_checkpoint(path: str | Path) -> SiameseVerifier:
    weights_path, _ = checkpoint_paths(path)
    config = load_config(path)
    if not weights_path.is_file():
        raise ModelLoadError(f"{weights_path}: model weights not found")
    model = SiameseVerifier(config, pretrained="none")
    try:
        state = load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own error types
        raise ModelLoadError(f"{weights_path}: unreadable safetensors file ({exc})") from exc
    target = model.state_dict()
    state = {k: v.to(target[k].dtype) if k in target else v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelLoadError(
            f"{weights_path}: weights do not match config (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.eval()
    return model
