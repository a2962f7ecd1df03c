"""Tests for the procedural generators: contract, determinism, and the sibling property.

Siblings (same style, new content) are the hard negatives of the derived-vs-distinct
task, so each generator must give siblings that share a look (colour histogram) but
no content: once the template shared by every sibling (axes, labels, frames, white
margins; estimated as the per-pixel median of other siblings) is removed, what is left of two
siblings must not correlate at any shift. A positive control (a noisy copy)
shows the same measure does flag real copies.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, gaussian_filter

from dupscope.generators import GENERATORS, Generator, generate, sample_style, siblings

NAMES = sorted(GENERATORS)
SIZE = (160, 160)
EXPECTED = {"fluorescence", "histology", "western_blot", "gel", "flow_cytometry", "chart", "heatmap", "starfield"}


def _gray(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64).mean(axis=2)


def _highpass(a: np.ndarray) -> np.ndarray:
    g = _gray(a)
    return g - gaussian_filter(g, 2.0)


def _max_ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Best normalised cross-correlation over all (circular) shifts."""
    den = np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9
    c = np.fft.irfft2(np.fft.rfft2(a) * np.conj(np.fft.rfft2(b)), s=a.shape)
    return float(c.max() / den)


def _content_ncc(a: np.ndarray, b: np.ndarray, others: list[np.ndarray]) -> float:
    """Max NCC of what ``a`` and ``b`` do not share with ``others`` (the common template).

    The template is the per-pixel median of the high-passed ``others``; subtracting it
    leaves only each image's own content.
    """
    med = np.median([_highpass(x) for x in others], axis=0)
    return _max_ncc(_highpass(a) - med, _highpass(b) - med)


def _hist_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of per-channel (log-count, 16-bin) histograms: a 'same look' measure."""
    def h(x: np.ndarray) -> np.ndarray:
        return np.log1p(np.concatenate([np.histogram(x[..., c], 16, (0, 256))[0] for c in range(3)]).astype(float))

    return float(np.corrcoef(h(a), h(b))[0, 1])


def _palette_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of ``b``'s pixels whose (coarse) colour also occurs in ``a``: same colour scheme."""
    qa, qb = ((x // 16).reshape(-1, 3).astype(np.int64) for x in (a, b))
    occ = np.zeros((16, 16, 16), bool)
    occ[qa[:, 0], qa[:, 1], qa[:, 2]] = True
    occ = binary_dilation(occ, iterations=1)
    return float(occ[qb[:, 0], qb[:, 1], qb[:, 2]].mean())


@pytest.fixture(scope="module")
def sibling_sets() -> dict[str, list[np.ndarray]]:
    return {n: siblings(n, np.random.default_rng(7), n=5, size=SIZE) for n in NAMES}


def test_registry() -> None:
    assert set(GENERATORS) == EXPECTED
    for name, gen in GENERATORS.items():
        assert isinstance(gen, Generator) and gen.name == name
        with pytest.raises(dataclasses.FrozenInstanceError):
            gen.name = "x"  # type: ignore[misc]
    with pytest.raises(KeyError):
        sample_style("nope", np.random.default_rng(0))


@pytest.mark.parametrize("name", NAMES)
def test_output_contract(name: str) -> None:
    for size in ((128, 200),):  # non-square; SIZE is exercised by every other test
        img, style = generate(name, np.random.default_rng(1), size=size)
        assert img.dtype == np.uint8 and img.shape == (*size, 3)
        assert img.flags.c_contiguous
        assert dataclasses.is_dataclass(style)
        assert img.std() > 2.0, "blank image"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str) -> None:
    a, sa = generate(name, np.random.default_rng(123), size=SIZE)
    b, sb = generate(name, np.random.default_rng(123), size=SIZE)
    assert sa == sb
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_siblings_distinct_content(name: str, sibling_sets: dict[str, list[np.ndarray]]) -> None:
    sibs = sibling_sets[name]
    a, b = sibs[0], sibs[1]
    assert np.abs(a.astype(np.int16) - b).mean() > 1.5
    assert _content_ncc(a, b, sibs[2:]) < 0.7, "siblings share content beyond the template"
    # Positive control: a re-encoded (noisy) copy of sibling 0 is flagged as the same content.
    noise = np.random.default_rng(0).normal(0, 2.0, a.shape)
    copy = np.clip(a + noise, 0, 255).astype(np.uint8)
    assert _content_ncc(a, copy, sibs[2:]) > 0.85


@pytest.mark.parametrize("name", NAMES)
def test_siblings_share_style(name: str, sibling_sets: dict[str, list[np.ndarray]]) -> None:
    sibs = sibling_sets[name]
    assert min(_hist_corr(sibs[0], s) for s in sibs[1:]) > 0.5
    assert min(_palette_overlap(sibs[0], s) for s in sibs[1:]) > 0.7


@pytest.mark.parametrize("name", NAMES)
def test_no_shifted_copies(name: str, sibling_sets: dict[str, list[np.ndarray]]) -> None:
    """For template-free images, raw siblings must not align at any shift."""
    if name not in ("fluorescence", "histology", "starfield"):
        pytest.skip("shared template (axes, labels, lanes) legitimately aligns")
    a, b = sibling_sets[name][:2]
    ha, hb = _highpass(a), _highpass(b)
    assert _max_ncc(ha, hb) < 0.4
    assert _max_ncc(ha, np.roll(ha, (9, -5), (0, 1))) > 0.9  # the measure finds shifted copies


@pytest.mark.parametrize("name", NAMES)
def test_styles_differ(name: str) -> None:
    s1 = sample_style(name, np.random.default_rng(10))
    s2 = sample_style(name, np.random.default_rng(11))
    assert s1 != s2
    a, _ = generate(name, np.random.default_rng(3), size=SIZE, style=s1)
    b, _ = generate(name, np.random.default_rng(3), size=SIZE, style=s2)
    assert np.abs(a.astype(np.int16) - b).mean() > 3.0


def test_siblings_independent_streams() -> None:
    """Sibling i must not depend on how much randomness sibling i-1 used (child streams)."""
    a = siblings("starfield", np.random.default_rng(9), n=3, size=SIZE)
    b = siblings("starfield", np.random.default_rng(9), n=2, size=SIZE)
    assert a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != a[1].tobytes()


def test_bad_size() -> None:
    with pytest.raises(ValueError):
        generate("chart", np.random.default_rng(0), size=(10, 10))
