import json

import numpy as np
from PIL import Image

from dupscope.train.run import TrainConfig, train
from dupscope.verifier import load_model


def _generated_folder(tmp_path, names, seed, size):
    from dupscope.generators import generate

    rng = np.random.default_rng(seed)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, name in enumerate(names):
        img, _ = generate(name, rng, size=size)
        Image.fromarray(img).save(folder / f"{name}{i:02d}.png")
    return folder


def test_train_folder_end_to_end(tmp_path):
    """A two-step run on a folder: calibrated checkpoint with provenance, loadable offline."""
    folder = _generated_folder(tmp_path, ["fluorescence", "histology", "starfield", "western_blot"] * 4, 0, (128, 160))
    (folder / "broken.png").write_bytes(b"not a png")  # skipped, not fatal
    cfg = TrainConfig(
        data=str(folder), out=str(tmp_path / "run"), encoder="tiny_test", pretrained="none", input_size=64,
        embed_dim=16, batch_size=4, max_steps=2, val_every=2, val_pairs=2, workers=0,
    )
    ckpt = train(cfg, argv=["(test)"])
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    assert meta["training"]["steps"] == 2 and meta["training"]["data"]["format"] == "folder"
    assert 0.0 < meta["temperature"] and 0.5 <= meta["threshold"] <= 1.0
    assert "roc_auc" in meta["metrics"]["validation"]
    v = load_model(ckpt, device="cpu")
    e = v.embed_arrays([np.zeros((40, 50, 3), np.uint8)])
    assert e.shape == (1, 16) and abs(np.linalg.norm(e) - 1) < 1e-4


def test_max_minutes_stops_a_long_run_and_still_calibrates(tmp_path):
    """A leased GPU has a hard limit: the time guard ends training early with a usable checkpoint."""
    folder = _generated_folder(tmp_path, ["gel", "heatmap", "chart", "histology"] * 3, 1, (96, 128))
    cfg = TrainConfig(
        data=str(folder), out=str(tmp_path / "run"), encoder="tiny_test", pretrained="none", input_size=64,
        embed_dim=16, batch_size=2, max_steps=10_000, val_every=10_000, val_pairs=2, workers=0, max_minutes=1e-4,
    )
    ckpt = train(cfg)
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    assert 1 <= meta["training"]["steps"] < 50
    assert meta["training"]["config"]["max_minutes"] == 1e-4
    assert 0.0 < meta["temperature"]


def test_init_continues_from_a_released_checkpoint(tmp_path):
    """--init fine-tunes a saved model: its architecture and weights are the starting point."""
    from safetensors.torch import load_file

    from dupscope.models import create_model, save_checkpoint

    folder = _generated_folder(tmp_path, ["gel", "chart", "fluorescence", "starfield"] * 3, 2, (96, 128))
    common = dict(data=str(folder), pretrained="none", batch_size=2, max_steps=2, val_every=2, val_pairs=2, workers=0)
    # A released model whose head is narrower than the default: every architecture field travels.
    first = tmp_path / "a" / "model"
    save_checkpoint(create_model(encoder="tiny_test", input_size=64, embed_dim=16, hidden_dim=24, dropout=0.1), first)
    # Flags that disagree with the checkpoint are overridden by it; lr 0 leaves the weights as loaded.
    second = train(TrainConfig(out=str(tmp_path / "b"), init=str(first), embed_dim=512, lr=0.0, head_lr=0.0, **common))
    meta = json.loads(second.with_suffix(".json").read_text())
    assert meta["encoder"] == "tiny_test" and meta["embed_dim"] == 16 and meta["input_size"] == 64
    assert meta["hidden_dim"] == 24 and meta["dropout"] == 0.1
    assert meta["training"]["config"]["init"] == str(first)
    a, b = load_file(str(first.with_suffix(".safetensors"))), load_file(str(second.with_suffix(".safetensors")))
    head = [k for k in a if k.startswith("head.") and k.endswith("weight")]
    assert head and all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in head)
    # The check can fail: another model of the same architecture starts elsewhere.
    other = create_model(encoder="tiny_test", input_size=64, embed_dim=16, hidden_dim=24).state_dict()
    assert not all(np.array_equal(a[k].numpy(), other[k].half().numpy()) for k in head)


def test_training_draws_carry_the_partial_reuse_mix():
    """Panels and overlapping fields of view, the verifier's weakest positives, are drawn as configured."""
    from dupscope.data.pairs import OVERLAP_SHARE, make_positive

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    others = [rng.integers(0, 255, (100, 100, 3), dtype=np.uint8) for _ in range(3)]
    fig, part, group = make_positive(img, rng, others=others)
    assert group == "panel" and fig.shape[0] > part.shape[0] // 2 and fig.shape != img.shape
    groups = [make_positive(img, rng)[2] for _ in range(300)]
    share = groups.count("overlap") / len(groups)
    assert "panel" not in groups and abs(share - OVERLAP_SHARE) < 0.07
