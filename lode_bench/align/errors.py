"""The error raised when registration of a pair fails (the other align errors are the project's)."""

from __future__ import annotations

from lode_bench.errors import LodeBenchError


class AlignmentError(LodeBenchError):
    """Registration failed (ECC diverged, no overlap, implausible warp); says why."""
