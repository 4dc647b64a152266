"""Exception types shared by every layer.

Every error a user can trigger with bad input derives from :class:`LodeBenchError`
and names the offending file or key, so the CLI can print it without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class LodeBenchError(Exception):
    """Base class for errors caused by user input (files, names, configuration).

    Catch it to handle every problem with an input in one place; its message is one line
    naming the file or key.

    Example:
        >>> from lode_bench import LodeBenchError, read_image
        >>> try:
        ...     read_image("no-such-image.png")
        ... except LodeBenchError as exc:
        ...     print(exc)
        no-such-image.png: file not found
    """


class ImageReadError(LodeBenchError):
    """An image file is missing, truncated, undecodable or of an unsupported kind."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageWriteError(LodeBenchError):
    """An image could not be encoded or written."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ShapeMismatchError(LodeBenchError):
    """Two images that must be compared have different shapes."""


class UnknownNameError(LodeBenchError, KeyError):
    """A registry lookup failed; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ConfigError(LodeBenchError):
    """A configuration file (recipe, suite, leaderboard) is invalid; names the bad key."""


class UnsafePathError(LodeBenchError):
    """A path would escape the dataset root it must stay inside."""
