"""Real photographs used as scenes for the alignment tests (no download).

Scenes: scikit-image's bundled photographs plus two real blurry photographs copied
into ``tests/data/align`` (see PROVENANCE.md there), downscaled so every trial runs
on images of a few hundred pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from lode_bench.io import read_image

DATA = Path(__file__).resolve().parent.parent / "data" / "align"


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    f = max_side / max(img.shape[:2])
    if f >= 1:
        return img
    return cv2.resize(
        img, (round(img.shape[1] * f), round(img.shape[0] * f)), interpolation=cv2.INTER_AREA
    )


def load_scenes(max_side: int = 560) -> list[np.ndarray]:
    """Six real RGB uint8 photographs, longest side ``max_side``."""
    imgs = [
        data.astronaut(),
        data.coffee(),
        data.rocket(),
        data.chelsea(),
        read_image(DATA / "srn_deblur_4c6.png"),
        read_image(DATA / "nafnet_demo_blurry.jpg"),
    ]
    return [_fit(np.ascontiguousarray(i), max_side) for i in imgs]


@pytest.fixture(scope="session")
def scenes() -> list[np.ndarray]:
    return load_scenes()


@pytest.fixture(scope="session")
def textures() -> list[np.ndarray]:
    """Textures for moving objects (real photographs, different from the scene)."""
    return [data.coffee(), data.astronaut(), data.chelsea()]
