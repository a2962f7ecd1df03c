"""``dupscope train``: configs in, a calibrated safetensors checkpoint and model card out."""

from __future__ import annotations

import json
import platform
import time
from datetime import timedelta
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from dupscope.data.datasets import (
    LabelledPairDataset,
    Preprocess,
    TripletDataset,
    airbnb_pairs,
    read_pairs_csv,
    records_from_folder,
)
from dupscope.data.pairs import build_pair_set
from dupscope.data.sources import SourceRecord, read_pool, split_of
from dupscope.eval.evaluate import pair_embeddings
from dupscope.eval.calibration import fit_distance_sigmoid, fit_temperature
from dupscope.eval.metrics import expected_calibration_error, summary, threshold_at_fpr
from dupscope.models import ModelConfig, get_spec, load_checkpoint, save_checkpoint
from dupscope.train.module import VerifierModule
from dupscope.verifier import Verifier


@dataclass
class TrainConfig:
    data: str  # pool.csv, a folder of images, an Airbnb-layout folder, or a pairs CSV
    data_format: str = "auto"  # auto | pool | folder | airbnb | pairs
    out: str = "runs/default"
    encoder: str = "efficientnet_lite0"
    pretrained: str = "offline"  # none | offline | timm
    pool: str = "gem"
    embed_dim: int = 512
    input_size: int = 0  # 0: the encoder's default
    loss: str = "bce"  # bce | contrastive | triplet
    batch_size: int = 16  # triplets (3 images each) or pairs per step
    max_steps: int = 1000
    val_every: int = 200
    val_pairs: int = 40  # positives per group in the fixed validation pair set
    lr: float = 3e-4
    head_lr: float = 1e-3
    freeze_blocks: int = 3
    cosine_weight: float = 0.1
    hard_k: int = 4
    seed: int = 0
    workers: int = 1
    device: str = "auto"
    devices: int = 1  # >1: DDP across GPUs
    resume: str | None = None  # a Lightning checkpoint: continue that run (optimizer, schedule, step)
    # A dupscope checkpoint (NAME or NAME.safetensors): start from its weights, a fresh schedule
    # and optimizer (fine-tune a released model further); its architecture replaces the flags above.
    init: str | None = None
    # Cached-trunk training (for CPUs): the first ``cache_blocks`` stages are frozen and run
    # once over ``cache_triplets`` pre-drawn triplets; the rest trains for ``epochs`` epochs.
    cache_blocks: int = 0
    cache_triplets: int = 4000
    epochs: int = 6
    max_minutes: float = 0.0  # a guard for leased machines: stop training after this long (0: none)
    extra: dict[str, Any] = field(default_factory=dict)


def _detect_format(path: Path) -> str:
    if path.suffix == ".csv":
        with path.open() as fh:
            header = fh.readline()
        return "pool" if header.startswith("path,kind") else "pairs"
    if any(p.name.lower().startswith(("training data", "test data")) for p in path.iterdir()):
        return "airbnb"
    return "folder"


def _hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def train(cfg: TrainConfig, argv: list[str] | None = None) -> Path:
    t0 = time.time()
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start = load_checkpoint(cfg.init) if cfg.init else None
    if start is not None:
        c = start.config
        cfg.encoder, cfg.pool, cfg.embed_dim, cfg.input_size, cfg.pretrained = (
            c.encoder, c.pool, c.embed_dim, c.input_size, "none"
        )
        mcfg = ModelConfig(
            encoder=c.encoder, pool=c.pool, embed_dim=c.embed_dim, hidden_dim=c.hidden_dim, dropout=c.dropout,
            fusion=c.fusion, input_size=c.input_size, mean=c.mean, std=c.std,
        )  # calibration, fusion and provenance are the new run's own
    else:
        spec = get_spec(cfg.encoder)
        mcfg = ModelConfig(
            encoder=cfg.encoder, pool=cfg.pool, embed_dim=cfg.embed_dim, input_size=cfg.input_size or spec.input_size,
            mean=spec.mean, std=spec.std,
        )
    size = mcfg.input_size
    prep = Preprocess(size, mcfg.mean, mcfg.std)
    data = Path(cfg.data)
    fmt = cfg.data_format if cfg.data_format != "auto" else _detect_format(data)

    val_rows: list[dict[str, str]]
    if fmt in ("pool", "folder"):
        records: list[SourceRecord] = read_pool(data) if fmt == "pool" else records_from_folder(data)
        train_recs = [r for r in records if r.split == "train"]
        val_recs = [r for r in records if r.split == "val"] or records[: max(4, len(records) // 10)]
        val_csv = build_pair_set(val_recs, out / "val", cfg.val_pairs, cfg.val_pairs * 6, seed=cfg.seed + 1)
        val_rows = read_pairs_csv(val_csv)
        train_ds = TripletDataset(train_recs, prep, seed=cfg.seed, length=cfg.max_steps * cfg.batch_size)
        shuffle = False
        if cfg.cache_blocks:
            train_ds = build_trunk_cache(mcfg, cfg, train_ds, out / "trunk_cache")
            shuffle = True
            cfg.max_steps = cfg.epochs * (len(train_ds) // cfg.batch_size)
        data_desc = {"format": fmt, "train_sources": len(train_recs), "val_sources": len(val_recs)}
    else:
        rows = airbnb_pairs(data) if fmt == "airbnb" else read_pairs_csv(data)
        train_rows = [r for r in rows if split_of(r["a"], val_frac=0.1, test_frac=0.0) == "train"]
        val_rows = [r for r in rows if split_of(r["a"], val_frac=0.1, test_frac=0.0) != "train"] or rows[:50]
        train_ds = LabelledPairDataset(train_rows, prep)
        shuffle = True
        data_desc = {"format": fmt, "train_pairs": len(train_rows), "val_pairs": len(val_rows)}

    val_ds = LabelledPairDataset(val_rows, prep)
    cached = bool(cfg.cache_blocks) and fmt in ("pool", "folder")
    workers = 0 if cached else cfg.workers
    loader_kw = dict(num_workers=workers, persistent_workers=workers > 0)
    train_dl = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=shuffle, drop_last=True, **loader_kw)
    val_dl = DataLoader(val_ds, batch_size=32, num_workers=0)

    module = VerifierModule(
        mcfg.to_dict(), pretrained=cfg.pretrained, loss=cfg.loss, lr=cfg.lr, head_lr=cfg.head_lr,
        freeze_blocks=cfg.freeze_blocks, cosine_weight=cfg.cosine_weight, hard_k=cfg.hard_k, max_steps=cfg.max_steps,
        cached_blocks=cfg.cache_blocks,
    )
    if start is not None:
        module.model.load_state_dict(start.state_dict())
    accel = "gpu" if (cfg.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu"
    if accel == "gpu":
        torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest kernels once
    ckpt_cb = L.pytorch.callbacks.ModelCheckpoint(dirpath=out / "checkpoints", save_last=True, every_n_train_steps=cfg.val_every)
    trainer = L.Trainer(
        max_steps=cfg.max_steps,
        max_time=timedelta(minutes=cfg.max_minutes) if cfg.max_minutes > 0 else None,
        accelerator=accel,
        devices=cfg.devices if accel == "gpu" else 1,
        strategy="ddp" if (accel == "gpu" and cfg.devices > 1) else "auto",
        precision="16-mixed" if accel == "gpu" else "32-true",
        val_check_interval=min(cfg.val_every, cfg.max_steps) if fmt in ("pool", "folder") else None,
        check_val_every_n_epoch=None if fmt in ("pool", "folder") else 1,
        num_sanity_val_steps=0,
        logger=L.pytorch.loggers.CSVLogger(out, name="logs"),
        callbacks=[ckpt_cb, L.pytorch.callbacks.TQDMProgressBar(refresh_rate=10)],
        log_every_n_steps=10,
        enable_model_summary=False,
        default_root_dir=out,
    )
    trainer.fit(module, train_dl, val_dl, ckpt_path=cfg.resume)
    if trainer.global_rank != 0:
        return out
    model = module.model.cpu().eval()
    wall = time.time() - t0

    # Calibrate on the fixed validation pairs: temperature, distance sigmoid, threshold.
    verifier = Verifier(model, name="candidate", device="cpu")
    ea, eb = pair_embeddings(verifier, val_rows)
    y = np.array([int(float(r["label"])) for r in val_rows])
    model.config.temperature = fit_temperature(verifier.head_logits(ea, eb), y)
    dist = np.linalg.norm(ea - eb, axis=1)
    model.config.distance_scale, model.config.distance_offset = fit_distance_sigmoid(dist, y)
    probs = verifier.score_embeddings(ea, eb)
    model.config.threshold = float(max(0.5, threshold_at_fpr(y, probs, 0.01)))
    val_metrics = summary(y, probs)
    val_metrics["ece"] = expected_calibration_error(y, probs)
    val_metrics["distance_mode"] = summary(y, verifier.score_embeddings(ea, eb, mode="distance"))
    model.config.metrics = {"validation": val_metrics}
    model.config.training = {
        "data": {"path": str(cfg.data), **data_desc},
        "command": "dupscope train " + " ".join(argv) if argv else None,
        "config": asdict(cfg),
        "wall_time_s": round(wall, 1),
        "hardware": _hardware(),
        "steps": int(trainer.global_step),
        "torch": torch.__version__,
    }
    ckpt = out / "model"
    save_checkpoint(model, ckpt)
    (out / "metrics.json").write_text(json.dumps(model.config.metrics, indent=2))
    return ckpt


class CachedTriplets(torch.utils.data.Dataset):
    """Pre-computed trunk features of (anchor, positive, negative), stored fp16."""

    def __init__(self, feats: np.ndarray) -> None:
        self.feats = feats  # (N, 3, C, H, W) float16

    def __len__(self) -> int:
        return len(self.feats)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        f = torch.from_numpy(np.asarray(self.feats[i], dtype=np.float32))
        return {"anchor": f[0], "positive": f[1], "negative": f[2]}


def build_trunk_cache(mcfg: ModelConfig, cfg: TrainConfig, triplets: TripletDataset, folder: Path) -> CachedTriplets:
    """Run the frozen stages once over ``cfg.cache_triplets`` triplets (resumable on disk)."""
    from tqdm import tqdm

    from dupscope.models import SiameseVerifier

    folder.mkdir(parents=True, exist_ok=True)
    done = folder / f"trunk_{cfg.cache_blocks}_{cfg.cache_triplets}_{cfg.seed}.npy"
    if done.exists():
        return CachedTriplets(np.load(done, mmap_mode="r"))
    model = SiameseVerifier(mcfg, pretrained=cfg.pretrained).eval()  # type: ignore[arg-type]
    shallower = sorted(folder.glob(f"trunk_*_{cfg.cache_triplets}_{cfg.seed}.npy"))
    shallower = [p for p in shallower if int(p.name.split("_")[1]) < cfg.cache_blocks]
    if shallower:  # continue a shallower cache through the extra stages instead of redrawing
        start = max(int(p.name.split("_")[1]) for p in shallower)
        base = np.load(folder / f"trunk_{start}_{cfg.cache_triplets}_{cfg.seed}.npy", mmap_mode="r")
        out = []
        with torch.inference_mode():
            for i in range(0, len(base), 64):
                x = torch.from_numpy(np.asarray(base[i : i + 64], np.float32))
                n = x.shape[0]
                f = x.flatten(0, 1)
                for block in model.backbone.blocks[start : cfg.cache_blocks]:
                    f = block(f)
                out.append(f.half().numpy().reshape(n, 3, *f.shape[1:]))
        feats = np.concatenate(out)
        np.save(done, feats)
        return CachedTriplets(feats)
    triplets.length = cfg.cache_triplets
    dl = DataLoader(triplets, batch_size=16, num_workers=cfg.workers, persistent_workers=False)
    chunks = []
    with torch.inference_mode(), tqdm(total=cfg.cache_triplets, desc="trunk cache", unit="triplet") as bar:
        for batch in dl:
            x = torch.cat([batch["anchor"], batch["positive"], batch["negative"]])
            f = model.trunk(x, cfg.cache_blocks).half().numpy()
            b = len(batch["anchor"])
            chunks.append(np.stack([f[:b], f[b : 2 * b], f[2 * b :]], axis=1))
            bar.update(b)
    feats = np.concatenate(chunks)
    tmp = folder / (done.name + ".tmp.npy")
    np.save(tmp, feats)
    tmp.replace(done)
    return CachedTriplets(feats)
