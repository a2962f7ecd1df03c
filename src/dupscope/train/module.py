"""The Lightning module: one training step for triplet batches and for labelled pairs."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch

from dupscope.eval.metrics import roc_auc, tpr_at_fpr
from dupscope.models import ModelConfig, SiameseVerifier
from dupscope.train import losses


class VerifierModule(L.LightningModule):
    def __init__(
        self,
        model_config: dict[str, Any],
        pretrained: str = "offline",
        loss: str = "bce",
        lr: float = 3e-4,
        head_lr: float = 1e-3,
        weight_decay: float = 1e-4,
        freeze_blocks: int = 3,
        cosine_weight: float = 0.1,
        cosine_margin: float = 0.3,
        margin: float = 1.0,
        pos_weight: float = 1.0,
        hard_k: int = 4,
        max_steps: int = 1000,
        cached_blocks: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = SiameseVerifier(ModelConfig.from_dict(model_config), pretrained=pretrained)  # type: ignore[arg-type]
        self._frozen = self._freeze(max(freeze_blocks, cached_blocks))
        self._val: list[tuple[np.ndarray, np.ndarray]] = []

    def _freeze(self, n: int) -> list[torch.nn.Module]:
        """Freeze the stem and the first ``n`` stages: low-level filters transfer as they are."""
        bb = self.model.backbone
        mods: list[torch.nn.Module] = []
        if n > 0:
            mods += [m for m in (getattr(bb, "conv_stem", None), getattr(bb, "bn1", None)) if m is not None]
            blocks = getattr(bb, "blocks", None)
            if blocks is not None:
                mods += [blocks[i] for i in range(min(n, len(blocks)))]
        for m in mods:
            for p in m.parameters():
                p.requires_grad_(False)
        return mods

    def on_train_epoch_start(self) -> None:
        for m in self._frozen:
            m.eval()  # keep frozen BatchNorm statistics fixed

    def _embed_train(self, x: torch.Tensor) -> torch.Tensor:
        k = self.hparams.cached_blocks
        return self.model.embed_from(x.float(), k) if k else self.model.embed(x)

    def _triplet_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hp = self.hparams
        ea = self._embed_train(batch["anchor"])
        ep = self._embed_train(batch["positive"])
        en = self._embed_train(batch["negative"])
        head = self.model.pair_logit
        b, d = ea.shape
        pos = head(ea, ep)
        hard = torch.cat([head(ea, en), head(ep, en)])
        off = ~torch.eye(b, dtype=torch.bool, device=ea.device)
        grid = head(ea[:, None, :].expand(b, b, d), ep[None, :, :].expand(b, b, d))
        inbatch = grid.masked_fill(~off, -1e4)
        mined = losses.hardest(inbatch, hp.hard_k)
        bce = (
            losses.weighted_bce(pos, 1.0, hp.pos_weight)
            + losses.weighted_bce(hard, 0.0, 0.5)
            + losses.weighted_bce(mined, 0.0, 0.35)
            + losses.weighted_bce(grid[off], 0.0, 0.15)
        )
        if hp.loss == "bce":
            emb = hp.cosine_weight * losses.cosine_regulariser(ea, ep, en, hp.cosine_margin)
        elif hp.loss == "contrastive":
            a = torch.cat([ea, ea, ep])
            o = torch.cat([ep, en, en])
            y = torch.cat([torch.ones(b), torch.zeros(2 * b)]).to(ea.device)
            emb = losses.contrastive(a, o, y, hp.margin)
        elif hp.loss == "triplet":
            emb = losses.triplet(ea, ep, en, hp.margin)
        else:
            raise ValueError(f"unknown loss {hp.loss!r}")
        self.log_dict({"loss/bce": bce.detach(), "loss/embed": emb.detach()}, prog_bar=False)
        with torch.no_grad():
            acc = torch.cat([(pos > 0).float(), (hard < 0).float()]).mean()
        self.log("train/acc", acc, prog_bar=True)
        return bce + emb

    def _pair_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        ea, eb = self.model.embed(batch["a"]), self.model.embed(batch["b"])
        y = batch["label"].float()
        logits = self.model.pair_logit(ea, eb)
        w = torch.where(y > 0.5, torch.full_like(y, self.hparams.pos_weight), torch.ones_like(y))
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=w)
        if self.hparams.loss == "contrastive":
            return bce + losses.contrastive(ea, eb, y, self.hparams.margin)
        return bce

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._triplet_loss(batch) if "anchor" in batch else self._pair_loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self.model(batch["a"], batch["b"])
        self._val.append((logits.float().cpu().numpy(), batch["label"].cpu().numpy()))

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        s = np.concatenate([v[0] for v in self._val])
        y = np.concatenate([v[1] for v in self._val])
        self._val.clear()
        auc = roc_auc(y, s)
        tpr = tpr_at_fpr(y, s, 0.01)
        self.log_dict({"val/roc_auc": auc, "val/tpr_at_fpr_1pct": tpr}, prog_bar=True)

    def configure_optimizers(self):
        hp = self.hparams
        head_params = list(self.model.head.parameters()) + list(self.model.proj.parameters()) + list(self.model.pool.parameters())
        head_ids = {id(p) for p in head_params}
        body = [p for p in self.model.parameters() if p.requires_grad and id(p) not in head_ids]
        opt = torch.optim.AdamW(
            [{"params": body, "lr": hp.lr}, {"params": head_params, "lr": hp.head_lr}],
            weight_decay=hp.weight_decay,
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[hp.lr, hp.head_lr], total_steps=max(hp.max_steps, 2), pct_start=0.08
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
