import json

import numpy as np
import pytest
import torch

from dupscope.errors import ModelLoadError
from dupscope.models import ModelConfig, create_model, get_spec, load_checkpoint, save_checkpoint
from dupscope.models.encoders import create_backbone, load_offline_weights
from dupscope.verifier import Verifier, load_model


def test_score_is_exactly_symmetric():
    torch.manual_seed(0)
    model = create_model(encoder="tiny_test", input_size=64, embed_dim=32, hidden_dim=16).eval()
    a = torch.randn(8, 32)
    b = torch.randn(8, 32)
    assert torch.equal(model.pair_logit(a, b), model.pair_logit(b, a))
    xa, xb = torch.randn(3, 3, 64, 64), torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(xa, xb), model(xb, xa))


def test_checkpoint_roundtrip_fp16_safetensors(tmp_path):
    model = create_model(encoder="tiny_test", input_size=64, embed_dim=32, hidden_dim=16, threshold=0.77).eval()
    w, c = save_checkpoint(model, tmp_path / "m")
    assert w.suffix == ".safetensors" and json.loads(c.read_text())["threshold"] == 0.77
    from safetensors.torch import load_file

    assert all(t.dtype == torch.float16 for t in load_file(str(w)).values() if t.is_floating_point())
    loaded = load_checkpoint(tmp_path / "m.safetensors")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = model.half().float().embed(x)
        got = loaded.embed(x)
    assert torch.allclose(ref, got, atol=1e-4)
    assert loaded.config.threshold == 0.77


def test_bad_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_checkpoint(tmp_path / "missing")
    model = create_model(encoder="tiny_test", input_size=64, embed_dim=32, hidden_dim=16)
    save_checkpoint(model, tmp_path / "m")
    (tmp_path / "m.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="unreadable"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({"encoder": "tiny_test", "bogus": 1}))
    with pytest.raises(ModelLoadError, match="invalid model config"):
        load_checkpoint(tmp_path / "m")


def test_offline_lite0_weights_map_onto_timm():
    spec = get_spec("efficientnet_lite0")
    model = create_backbone("efficientnet_lite0", pretrained="none")
    before = model.conv_stem.weight.detach().clone()
    load_offline_weights(model, spec)
    after = model.conv_stem.weight.detach()
    assert not torch.equal(before, after)
    # ImageNet-trained BatchNorm statistics are not the fresh defaults.
    assert not torch.allclose(model.bn1.running_var, torch.ones_like(model.bn1.running_var))


def test_gem_and_avg_pooling_and_config_validation():
    for pool in ("gem", "avg"):
        m = create_model(encoder="tiny_test", pool=pool, input_size=64, embed_dim=0, hidden_dim=8).eval()
        with torch.no_grad():
            e = m.embed(torch.randn(2, 3, 64, 64))
        assert e.shape == (2, get_spec("tiny_test").feature_dim)
        assert torch.allclose(e.norm(dim=1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError):
        create_model(encoder="nope")
    with pytest.raises(ValueError):
        ModelConfig.from_dict({"unknown_key": 1})


def test_verifier_batches_modes_and_tta(tiny_checkpoint, textured):
    v = load_model(tiny_checkpoint, device="cpu")
    imgs = [textured, textured[::-1].copy(), textured[:, ::-1].copy()]
    e1 = v.embed_arrays(imgs, batch_size=1)
    e3 = v.embed_arrays(imgs, batch_size=3)
    assert np.allclose(e1, e3, atol=1e-5)
    p_head = v.score_embeddings(e3[:1], e3[1:2])
    p_dist = v.score_embeddings(e3[:1], e3[1:2], mode="distance")
    assert 0 <= p_head[0] <= 1 and 0 <= p_dist[0] <= 1
    tta = v.embed_arrays(imgs[1:2], tta=True)
    assert tta.shape == (1, 8, v.embed_dim)
    # The TTA score is the max over the 8 rotations/flips, so never below the plain score.
    assert v.score_embeddings(e3[:1], tta)[0] >= v.score_embeddings(e3[:1], tta[:, 0])[0] - 1e-6
    # An exact copy is found by TTA whatever the flip: the un-flipped view is among the 8.
    flipped = v.embed_arrays([textured[::-1].copy()], tta=True)
    direct = v.score_embeddings(e3[:1], v.embed_arrays([textured]))[0]
    assert v.score_embeddings(e3[:1], flipped)[0] >= direct - 1e-4
