import io

import numpy as np
import pytest
from PIL import Image

from dupscope.errors import ImageLoadError
from dupscope.io import content_hash, dihedral_equal, dihedral_key, load_image


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("BMP", ".bmp"), ("GIF", ".gif"), ("WEBP", ".webp")])
def test_formats_decode_to_uint8_rgb(tmp_path, textured, fmt, suffix):
    path = _save(Image.fromarray(textured), tmp_path / f"x{suffix}", format=fmt)
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == textured.shape
    if fmt in ("PNG", "TIFF", "BMP"):
        assert np.array_equal(out, textured)


def test_modes_palette_alpha_cmyk_gray_16bit(tmp_path, textured):
    base = Image.fromarray(textured)
    for mode in ("P", "RGBA", "CMYK", "L", "LA"):
        path = _save(base.convert(mode), tmp_path / f"m_{mode}.{'jpg' if mode == 'CMYK' else 'png'}")
        out = load_image(path)
        assert out.shape == textured.shape and out.dtype == np.uint8
    # 16-bit TIFF with a 12-bit range must use its real range, not render near-black.
    arr16 = (np.linspace(0, 4095, 64 * 64).reshape(64, 64)).astype(np.uint16)
    p16 = tmp_path / "deep.tif"
    Image.fromarray(arr16).save(p16)
    out = load_image(p16)
    assert out.shape == (64, 64, 3) and out.max() == 255 and out.min() == 0


def test_alpha_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    out = load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert (out == 255).all()


def test_exif_orientation_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = tmp_path / "o.jpg"
    Image.fromarray(img).save(path, exif=exif, quality=95)
    out = load_image(path)
    assert out.shape[:2] == (40, 20)
    assert out[:20].mean() > 200 and out[20:].mean() < 50  # white half now on top


def test_oversized_downsampled_and_bomb_refused(tmp_path, monkeypatch):
    big = np.zeros((3000, 5000, 3), np.uint8)
    path = _save(Image.fromarray(big), tmp_path / "big.png")
    assert max(load_image(path, max_side=1000).shape[:2]) == 1000
    import dupscope.io.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    with pytest.raises(ImageLoadError, match="pixel limit"):
        load_image(path)


@pytest.mark.parametrize(
    "content,reason",
    [(None, "not found"), (b"", "empty"), (b"hello, not an image", "not a recognised"), ("trunc", "truncated|corrupt")],
)
def test_bad_files_name_the_reason(tmp_path, textured, content, reason):
    path = tmp_path / "bad.png"
    if content == "trunc":
        buf = io.BytesIO()
        Image.fromarray(textured).save(buf, format="PNG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=reason) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_arrays_and_content_hash(textured):
    gray = textured[:, :, 0]
    assert load_image(gray).shape == textured.shape
    assert load_image(textured.astype(np.float32) / 255.0).dtype == np.uint8
    assert content_hash(textured) == content_hash(textured.copy())
    other = textured.copy()
    other[0, 0, 0] ^= 1
    assert content_hash(other) != content_hash(textured)


@pytest.mark.parametrize("shape", [(40, 70, 3), (601, 517, 3)])  # below and above the 256 sample grid
def test_dihedral_key_is_shared_by_every_rotation_and_flip(shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    views = [np.ascontiguousarray(v) for k in range(4) for v in (np.rot90(img, k), np.rot90(img, k)[:, ::-1])]
    assert len({content_hash(v) for v in views}) == 8  # plain hashes tell the views apart
    assert {dihedral_key(v) for v in views} == {dihedral_key(img)}
    assert all(dihedral_equal(img, v) for v in views)
    other = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    assert dihedral_key(other) != dihedral_key(img) and not dihedral_equal(img, other)


def test_dihedral_key_collision_is_caught_by_the_full_comparison():
    """The key samples a large picture on a grid: a pixel between grid points can differ."""
    img = np.random.default_rng(2).integers(0, 256, (600, 600, 3), dtype=np.uint8)
    edited = img.copy()
    edited[1, 1] ^= 0xFF  # the grid's stride is 3 here, so (1, 1) is not sampled
    assert dihedral_key(edited) == dihedral_key(img)
    assert not dihedral_equal(img, edited) and not dihedral_equal(img, np.rot90(edited))
