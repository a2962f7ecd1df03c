"""dupscope: find image reuse in scientific publications."""

from dupscope.errors import DupscopeError, ImageLoadError, ModelLoadError
from dupscope.io import load_image
from dupscope.api import compare
from dupscope.scan import Scanner
from dupscope.verifier import CompareResult, Verifier, load_model

__version__ = "0.1.0"

__all__ = [
    "CompareResult",
    "DupscopeError",
    "ImageLoadError",
    "ModelLoadError",
    "Scanner",
    "Verifier",
    "__version__",
    "compare",
    "load_image",
    "load_model",
]
