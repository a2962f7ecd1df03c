"""Reading images from anything a user hands us, into one canonical form.

The canonical form everywhere in dupscope is a C-contiguous ``uint8`` RGB array of shape
``(H, W, 3)``. Every public entry point accepts a path, a PIL image or an array and goes
through :func:`load_image`, so format quirks (palette, alpha, CMYK, 16-bit TIFF, EXIF
rotation, decompression bombs) are handled in exactly one place.
"""

from dupscope.io.images import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    ImageInput,
    as_rgb_array,
    content_hash,
    dihedral_equal,
    dihedral_key,
    is_image_path,
    load_image,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageInput",
    "as_rgb_array",
    "content_hash",
    "dihedral_equal",
    "dihedral_key",
    "is_image_path",
    "load_image",
]
