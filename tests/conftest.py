import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny random verifier saved as a real checkpoint (safetensors + JSON)."""
    from dupscope.models import create_model, save_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    model = create_model(encoder="tiny_test", input_size=64, embed_dim=32, hidden_dim=16)
    save_checkpoint(model, path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def textured(rng):
    """A structured image with edges and blobs: something features can lock onto."""
    img = np.full((120, 160, 3), 30, np.uint8)
    for _ in range(25):
        y, x = rng.integers(0, 110), rng.integers(0, 150)
        img[y : y + rng.integers(5, 20), x : x + rng.integers(5, 20)] = rng.integers(60, 255, 3)
    return img
