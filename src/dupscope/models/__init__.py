"""Models: encoder factory, siamese verifier, configs and safetensors checkpoints."""

from dupscope.models.checkpoint import load_checkpoint, load_config, save_checkpoint
from dupscope.models.config import ModelConfig
from dupscope.models.encoders import ENCODERS, EncoderSpec, create_backbone, get_spec, list_encoders
from dupscope.models.pooling import GeM
from dupscope.models.siamese import PairHead, SiameseVerifier


def create_model(config: ModelConfig | None = None, pretrained: str = "none", **overrides) -> SiameseVerifier:
    """The one factory: ``create_model(encoder="efficientnet_lite0", pretrained="offline")``."""
    config = config or ModelConfig()
    if overrides:
        config = ModelConfig.from_dict({**config.to_dict(), **overrides})
    return SiameseVerifier(config, pretrained=pretrained)  # type: ignore[arg-type]


__all__ = [
    "ENCODERS", "EncoderSpec", "GeM", "ModelConfig", "PairHead", "SiameseVerifier",
    "create_backbone", "create_model", "get_spec", "list_encoders",
    "load_checkpoint", "load_config", "save_checkpoint",
]
