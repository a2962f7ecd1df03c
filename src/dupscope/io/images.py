"""Robust image decoding: see the package docstring for the contract."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dupscope.errors import ImageLoadError

ImageInput = Union[str, Path, Image.Image, np.ndarray]

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
)

# Refuse anything above this many pixels outright (a decompression bomb or a scan of a
# poster); anything below it but larger than ``max_side`` is downsampled on decode.
MAX_PIXELS = 180_000_000
DEFAULT_MAX_SIDE = 4096


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def content_hash(img: np.ndarray) -> str:
    """Hash of the decoded pixels: two files with the same pixels get the same key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(np.asarray(img.shape, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()


def dihedral_views(img: np.ndarray):
    """The 8 rotations/flips of an array (numpy views, no copies): identity first."""
    for k in range(4):
        r = np.rot90(img, k)
        yield r
        yield r[:, ::-1]


def dihedral_key(img: np.ndarray, grid: int = 256) -> str:
    """The same key for an image and every rotation/flip of it: a short-cut for
    pixel-exact mirrored or rotated copies, which have no other exact signature.

    Each view is sampled on a strided grid of at most ``grid`` x ``grid`` pixels (the
    full picture below that size), so a 2048-pixel figure costs about what a 256-pixel
    panel does. The sample can collide for pictures that differ between its pixels:
    confirm a shared key with :func:`dihedral_equal` before calling two pictures equal.
    """
    best = ""
    for v in dihedral_views(img):
        sy, sx = -(-v.shape[0] // grid), -(-v.shape[1] // grid)
        h = content_hash(v[::sy, ::sx])
        h = f"{h}:{v.shape[0]}x{v.shape[1]}"
        if not best or h < best:
            best = h
    return best


def dihedral_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b`` is exactly ``a`` up to a rotation by 90-degree steps and a flip."""
    return any(v.shape == b.shape and np.array_equal(v, b) for v in dihedral_views(a))


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(a)
        if not finite.all():
            a = np.where(finite, a, 0.0)
        lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
        if lo >= 0.0 and hi <= 1.0:
            a = a * 255.0
        elif hi > lo:
            a = (a - lo) / (hi - lo) * 255.0
    else:
        # Integer data wider than 8 bits (16-bit microscopy TIFFs): use the real range so
        # a 12-bit image in a 16-bit container is not rendered black.
        lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
        if hi > 255 or lo < 0:
            a = (a - lo) / max(hi - lo, 1.0) * 255.0
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def as_rgb_array(arr: np.ndarray) -> np.ndarray:
    """Any 2-D or 3-D array (gray, gray+alpha, RGB, RGBA; any dtype) to uint8 RGB."""
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = _to_uint8(arr)
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.ndim != 3 or arr.shape[2] not in (2, 3, 4):
        raise ValueError(f"expected an image array of shape (H, W[, C]), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("image has zero width or height")
    arr = _to_uint8(arr)
    if arr.shape[2] == 2:  # gray + alpha
        arr = np.concatenate([np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1:]], axis=2)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        rgb = arr[:, :, :3].astype(np.float32)
        arr = np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr[:, :, :3])


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return as_rgb_array(np.asarray(im))
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "1"):
        im = im.convert("RGB")
    elif mode == "LA":
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGBA")
    return as_rgb_array(np.asarray(im))


def _limit_side(im: Image.Image, max_side: int | None) -> Image.Image:
    if max_side is None or max(im.size) <= max_side:
        return im
    scale = max_side / max(im.size)
    size = (max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale)))
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return im.resize(size, Image.NEAREST)
    return im.resize(size, Image.BILINEAR, reducing_gap=2.0)


def _open_path(path: Path, max_side: int | None) -> np.ndarray:
    if not path.exists():
        raise ImageLoadError(path, "file not found")
    if path.is_dir():
        raise ImageLoadError(path, "is a directory, not an image")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageLoadError(path, f"cannot stat file ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageLoadError(path, "file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageLoadError(
                        path, f"image is {w}x{h} pixels, above the {MAX_PIXELS:,}-pixel limit"
                    )
                if getattr(im, "n_frames", 1) > 1:
                    im.seek(0)
                if max_side is not None and im.format == "JPEG":
                    im.draft("RGB", (max_side, max_side))
                im.load()
                im = ImageOps.exif_transpose(im) or im
                im = _limit_side(im, max_side)
                return _pil_to_rgb(im)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageLoadError(path, "not a recognised image format") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(path, f"refused as a decompression bomb ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower() or isinstance(exc, EOFError):
            msg = f"truncated or corrupt image data ({msg})"
        else:
            msg = f"corrupt or unreadable image ({msg})"
        raise ImageLoadError(path, msg) from exc


def load_image(src: ImageInput, max_side: int | None = DEFAULT_MAX_SIDE) -> np.ndarray:
    """Decode ``src`` to a uint8 RGB array; raise :class:`ImageLoadError` with the reason.

    ``max_side`` bounds the longer side (downsampled on decode, JPEG via draft mode) so a
    huge figure cannot exhaust memory; ``None`` keeps full resolution.
    """
    if isinstance(src, (str, Path)):
        return _open_path(Path(src), max_side)
    if isinstance(src, Image.Image):
        try:
            im = ImageOps.exif_transpose(src) or src
            return _pil_to_rgb(_limit_side(im, max_side))
        except (OSError, ValueError) as exc:
            raise ImageLoadError("<PIL image>", f"cannot convert image ({exc})") from exc
    if isinstance(src, np.ndarray):
        try:
            arr = as_rgb_array(src)
        except ValueError as exc:
            raise ImageLoadError("<array>", str(exc)) from exc
        if max_side is not None and max(arr.shape[:2]) > max_side:
            arr = _pil_to_rgb(_limit_side(Image.fromarray(arr), max_side))
        return arr
    raise ImageLoadError(repr(type(src)), "unsupported input type: give a path, PIL image or array")
