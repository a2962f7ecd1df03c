"""The one config that describes a verifier: architecture, preprocessing and calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class ModelConfig:
    encoder: str = "efficientnet_lite0"
    pool: str = "gem"  # "gem" | "avg"
    embed_dim: int = 512  # projection after pooling; 0 keeps the encoder's width
    hidden_dim: int = 512
    dropout: float = 0.2
    fusion: str = "absdiff_prod"  # concat(|a-b|, a*b): symmetric by construction
    input_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    # Calibration of the head's logit: p = sigmoid(logit / temperature).
    temperature: float = 1.0
    # The classic siamese score: p = sigmoid(distance_scale * (distance_offset - ||a - b||)).
    distance_scale: float = 10.0
    distance_offset: float = 0.8
    # The decision threshold on the calibrated probability (chosen on a validation split).
    threshold: float = 0.5
    # Optional fusion with geometric evidence (dupscope.evidence.FusionModel.to_dict()).
    fusion_model: dict[str, Any] | None = None
    # Provenance: data, command, hardware, metrics. Free-form, JSON-serialisable.
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        d = dict(d)
        for key in ("mean", "std"):
            if key in d:
                d[key] = tuple(float(v) for v in d[key])
        return cls(**d)
