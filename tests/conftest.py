"""Shared fixtures: deterministic real-looking images without any download."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def photo() -> np.ndarray:
    """A real photograph shipped with scikit-image (RGB uint8, 512×512)."""
    from skimage import data

    return data.astronaut()
