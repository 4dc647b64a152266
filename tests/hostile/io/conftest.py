"""The helpers of these tests sit beside this file; make them importable under any import mode."""

from __future__ import annotations
