"""The user-facing verifier: images in, calibrated probabilities out, batched on any device."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from dupscope.io import ImageInput, load_image
from dupscope.models import ModelConfig, SiameseVerifier, load_checkpoint
from dupscope.preprocess import DIHEDRAL, dihedral, to_tensor

DEFAULT_MODEL = Path(__file__).parent / "weights" / "dupscope-default"


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available")
    return torch.device(device)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass
class CompareResult:
    a: str
    b: str
    probability: float
    duplicate: bool
    threshold: float
    model: str
    verifier_probability: float | None = None
    transform: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "a": self.a,
            "b": self.b,
            "probability": round(float(self.probability), 6),
            "duplicate": bool(self.duplicate),
            "threshold": float(self.threshold),
            "model": self.model,
        }
        if self.verifier_probability is not None:
            d["verifier_probability"] = round(float(self.verifier_probability), 6)
        if self.transform is not None:
            d["transform"] = self.transform
        d.update(self.extra)
        return d


class Verifier:
    """A loaded model plus its preprocessing, calibration and device.

    Plain arrays in, plain arrays out (faiss-style): ``embed`` gives float32 (N, D) unit
    vectors; ``score_embeddings`` gives calibrated probabilities for aligned rows.
    """

    def __init__(self, model: SiameseVerifier, name: str = "custom", device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config: ModelConfig = model.config
        self.name = name
        self.fp16 = self.device.type == "cuda"

    @property
    def threshold(self) -> float:
        return float(self.config.threshold)

    @property
    def embed_dim(self) -> int:
        return int(self.model.embed_dim)

    def _autocast(self):
        if self.fp16:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def embed_arrays(self, images: Sequence[np.ndarray], batch_size: int = 32, tta: bool = False) -> np.ndarray:
        """Embed canonical RGB arrays. With ``tta`` returns (N, 8, D): all rotations/flips."""
        c = self.config
        outs = []
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start : start + batch_size], c.input_size, c.mean, c.std).to(self.device)
            with self._autocast():
                if tta:
                    e = torch.stack([self.model.embed(dihedral(x, k, m)) for k, m in DIHEDRAL], dim=1)
                else:
                    e = self.model.embed(x)
            outs.append(e.float().cpu().numpy())
        if not outs:
            return np.zeros((0, 8, self.embed_dim) if tta else (0, self.embed_dim), np.float32)
        return np.concatenate(outs).astype(np.float32, copy=False)

    def embed(
        self,
        images: Iterable[ImageInput],
        batch_size: int = 32,
        tta: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Load and embed inputs (paths, PIL images or arrays) in batches."""
        chunk: list[np.ndarray] = []
        outs = []
        for img in images:
            chunk.append(load_image(img))
            if len(chunk) == batch_size:
                outs.append(self.embed_arrays(chunk, batch_size, tta))
                if progress:
                    progress(len(chunk))
                chunk = []
        if chunk:
            outs.append(self.embed_arrays(chunk, batch_size, tta))
            if progress:
                progress(len(chunk))
        if not outs:
            return self.embed_arrays([], batch_size, tta)
        return np.concatenate(outs)

    @torch.inference_mode()
    def head_logits(self, ea: np.ndarray, eb: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """Raw head logits for aligned embedding rows (N, D) x (N, D)."""
        ea = np.asarray(ea, np.float32)
        eb = np.asarray(eb, np.float32)
        if ea.shape != eb.shape:
            raise ValueError(f"embedding shapes differ: {ea.shape} vs {eb.shape}")
        out = np.empty(len(ea), np.float32)
        for s in range(0, len(ea), batch_size):
            a = torch.from_numpy(ea[s : s + batch_size]).to(self.device)
            b = torch.from_numpy(eb[s : s + batch_size]).to(self.device)
            out[s : s + batch_size] = self.model.pair_logit(a, b).float().cpu().numpy()
        return out

    def score_embeddings(self, ea: np.ndarray, eb: np.ndarray, mode: str = "head") -> np.ndarray:
        """Calibrated probability per aligned row; embeddings may carry a TTA axis on b.

        ``mode="head"`` uses the MLP head; ``mode="distance"`` the Euclidean distance
        between unit embeddings mapped by the fitted sigmoid. With (N, 8, D) for ``eb``
        the maximum over the 8 rotations/flips is returned.
        """
        ea = np.asarray(ea, np.float32)
        eb = np.asarray(eb, np.float32)
        if eb.ndim == 3:
            n, g, d = eb.shape
            a_rep = np.repeat(ea[:, None, :], g, axis=1).reshape(n * g, d)
            return self.score_embeddings(a_rep, eb.reshape(n * g, d), mode).reshape(n, g).max(axis=1)
        if mode == "head":
            return _sigmoid(self.head_logits(ea, eb) / self.config.temperature).astype(np.float32)
        if mode == "distance":
            d = np.linalg.norm(ea - eb, axis=1)
            c = self.config
            return _sigmoid(c.distance_scale * (c.distance_offset - d)).astype(np.float32)
        raise ValueError(f"mode must be 'head' or 'distance', got {mode!r}")


def _label(src: ImageInput) -> str:
    if isinstance(src, (str, Path)):
        return str(src)
    return f"<{type(src).__name__}>"


def load_model(path: str | Path | None = None, device: str = "auto") -> Verifier:
    """Load a checkpoint (``None``: the default model shipped with the package)."""
    ckpt = DEFAULT_MODEL if path is None else Path(path)
    model = load_checkpoint(ckpt)
    name = "dupscope-default" if path is None else str(path)
    return Verifier(model, name=name, device=device)
