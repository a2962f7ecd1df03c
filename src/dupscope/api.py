"""The library's front door: compare two images, optionally with geometric evidence.

When the loaded model carries a fitted fusion (``config.fusion_model``) the returned
probability fuses the verifier with the geometric check by default; the verifier's own
probability stays available as ``verifier_probability``.
"""

from __future__ import annotations

from pathlib import Path

from dupscope.io import ImageInput, load_image
from dupscope.verifier import CompareResult, Verifier, _label, load_model

_CACHE: dict[str, Verifier] = {}


def _get_verifier(model: Verifier | str | Path | None) -> Verifier:
    if isinstance(model, Verifier):
        return model
    key = str(model)
    if key not in _CACHE:
        _CACHE[key] = load_model(model)
    return _CACHE[key]


def compare_pair(
    verifier: Verifier,
    a: ImageInput,
    b: ImageInput,
    threshold: float | None = None,
    explain: bool = False,
    visualize: str | Path | None = None,
    fuse: bool | None = None,
) -> CompareResult:
    ia, ib = load_image(a), load_image(b)
    emb = verifier.embed_arrays([ia, ib])
    p_verifier = float(verifier.score_embeddings(emb[:1], emb[1:])[0])
    fusion = verifier.config.fusion_model
    fuse = bool(fusion) if fuse is None else (fuse and bool(fusion))
    transform = None
    p = p_verifier
    if explain or fuse or visualize:
        from dupscope.evidence import FusionModel, verify_pair

        ev = verify_pair(ia, ib)
        if fuse:
            p = float(FusionModel.from_dict(fusion).predict(p_verifier, ev))
        if explain or visualize:
            transform = ev.to_json()
        if visualize:
            from dupscope.evidence import visualize as draw

            draw(ia, ib, ev, visualize)
    default_t = float(fusion.get("threshold", verifier.threshold)) if fuse else verifier.threshold
    t = default_t if threshold is None else float(threshold)
    return CompareResult(
        _label(a), _label(b), p, p >= t, t, verifier.name,
        verifier_probability=p_verifier if fuse else None, transform=transform,
    )


def compare(
    a: ImageInput,
    b: ImageInput,
    model: Verifier | str | Path | None = None,
    threshold: float | None = None,
    explain: bool = False,
) -> CompareResult:
    """Probability that one image was derived from the other (paths, PIL images or arrays)."""
    return compare_pair(_get_verifier(model), a, b, threshold=threshold, explain=explain)
