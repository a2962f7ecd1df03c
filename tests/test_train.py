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
