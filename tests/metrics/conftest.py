"""Fixtures for the metric tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.metrics.metrics_data import tid_pair


@pytest.fixture(scope="session")
def tid_i03() -> tuple[np.ndarray, np.ndarray]:
    return tid_pair("I03")


@pytest.fixture
def noisy_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random image and a noisy version of it (uint8, 61×73×3, odd sizes)."""
    from scipy.ndimage import gaussian_filter

    base = rng.random((61, 73, 3)) * 255
    base = gaussian_filter(base, sigma=(2, 2, 0))
    base = (base - base.min()) / (base.max() - base.min()) * 255
    target = np.rint(base).astype(np.uint8)
    noisy = np.clip(base + rng.normal(0, 20, base.shape), 0, 255)
    return np.rint(noisy).astype(np.uint8), target
