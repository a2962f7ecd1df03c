"""Procedural generators of scientific images, for training and benchmarking.

Every generator separates *style* (stain, magnification, lane layout, plot style,
fonts, colours: a frozen dataclass drawn by ``sample_style``) from *content* (cell
positions, band intensities, data points: drawn inside ``render``). Two renders of one
style are "siblings": they look alike at a glance but share no structure, which is
exactly the hard negative a derived-vs-distinct verifier must learn to reject.

Everything is deterministic given the ``np.random.Generator`` passed in.

>>> import numpy as np
>>> from dupscope.generators import GENERATORS, generate, siblings
>>> img, style = generate("western_blot", np.random.default_rng(0), size=(256, 320))
>>> a, b = siblings("fluorescence", np.random.default_rng(1), n=2, size=(256, 256))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from dupscope.generators._common import check_size, child_rng

__all__ = ["GENERATORS", "Generator", "generate", "render", "sample_style", "siblings"]


@dataclass(frozen=True)
class Generator:
    """A named family of images: a style sampler and a renderer."""

    name: str
    sample_style: Callable[[np.random.Generator], Any]
    render: Callable[[Any, np.random.Generator, tuple[int, int]], np.ndarray]


_MODULES = (
    "fluorescence",
    "histology",
    "western_blot",
    "gel",
    "flow_cytometry",
    "chart",
    "heatmap",
    "starfield",
)


def _load() -> dict[str, Generator]:
    reg: dict[str, Generator] = {}
    for name in _MODULES:
        mod = importlib.import_module(f"dupscope.generators.{name}")
        reg[name] = Generator(name=name, sample_style=mod.sample_style, render=mod.render)
    return reg


GENERATORS: dict[str, Generator] = _load()


def _get(name: str) -> Generator:
    try:
        return GENERATORS[name]
    except KeyError:
        raise KeyError(f"unknown generator {name!r}; known: {sorted(GENERATORS)}") from None


def sample_style(name: str, rng: np.random.Generator) -> Any:
    """Draw a style (frozen dataclass) for generator ``name``."""
    return _get(name).sample_style(rng)


def render(name: str, style: Any, rng: np.random.Generator,
           size: tuple[int, int] = (384, 384)) -> np.ndarray:
    """Render one image of ``style``: uint8 RGB ``(H, W, 3)``, C-contiguous."""
    img = _get(name).render(style, rng, check_size(size))
    assert img.dtype == np.uint8 and img.shape == (*check_size(size), 3), (name, img.shape)
    return np.ascontiguousarray(img)


def generate(name: str, rng: np.random.Generator, size: tuple[int, int] = (384, 384),
             style: Any = None) -> tuple[np.ndarray, Any]:
    """Render one image (with a fresh style unless one is given); returns ``(image, style)``."""
    if style is None:
        style = sample_style(name, rng)
    return render(name, style, rng, size), style


def siblings(name: str, rng: np.random.Generator, n: int = 2,
             size: tuple[int, int] = (384, 384)) -> list[np.ndarray]:
    """``n`` distinct images sharing one style (hard negatives for each other).

    Each sibling gets its own child stream, so sibling ``i`` does not depend on how much
    randomness sibling ``i - 1`` consumed.
    """
    style = sample_style(name, rng)
    seeds = [child_rng(rng) for _ in range(n)]
    return [render(name, style, r, size) for r in seeds]
