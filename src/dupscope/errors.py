"""Exceptions with enough context for a batch job to record and skip a bad input."""

from __future__ import annotations

from pathlib import Path


class DupscopeError(Exception):
    """Base class for every error dupscope raises on purpose."""


class ImageLoadError(DupscopeError):
    """An input could not be read as an image; carries the file and the reason."""

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class ModelLoadError(DupscopeError):
    """A checkpoint is missing or malformed."""
