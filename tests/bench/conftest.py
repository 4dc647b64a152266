"""Tiny datasets and fault-injecting models for runner tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.io import read_image
from lode_bench.models import MODELS, ModelCard, register_model
from lode_bench.models.base import FunctionDeblurrer

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"
CROP = "gopro_GOPR0410_11_00-000205"


def make_dataset(root: Path, n: int = 6, seed: int = 0, size=(32, 40)) -> Path:
    """A lode-bench dataset: the real GoPro crop as ``crop`` plus ``n`` synthetic pairs."""
    rng = np.random.default_rng(seed)
    w = DatasetWriter(root, "tiny")
    w.write_sample(
        "crop",
        {
            "blur": read_image(DATA / f"{CROP}_blur.png"),
            "sharp": read_image(DATA / f"{CROP}_gt.png"),
        },
    )
    for i in range(n):
        sharp = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        blur = np.clip(sharp.astype(int) + rng.integers(-30, 31, sharp.shape), 0, 255).astype(
            np.uint8
        )
        w.write_sample(
            f"s{i:03d}", {"blur": blur, "sharp": sharp}, arrays={"kernel": np.ones((3, 3)) / 9}
        )
    w.finalize()
    return root


@pytest.fixture
def tiny(tmp_path) -> Path:
    return make_dataset(tmp_path / "tiny")


def _faulty(blurry, sample):
    if sample.id == "s001":
        return np.full_like(blurry, np.nan)
    if sample.id == "s002":
        return blurry[:-1]
    if sample.id == "s003":
        raise RuntimeError("model crashed on this image")
    return blurry


def _register(name: str, fn) -> None:
    if name not in MODELS:
        register_model(
            ModelCard(
                name=name,
                kind="numpy",
                factory=lambda card, ckpt, **o: FunctionDeblurrer(card, fn),
                description="test model",
                needs_checkpoint=False,
            )
        )


@pytest.fixture
def faulty_model() -> str:
    _register("test-faulty", _faulty)
    return "test-faulty"


@pytest.fixture
def copy_crop_outputs(tmp_path):
    """Folder of precomputed outputs: Restormer's real output for the crop."""
    out = tmp_path / "outputs"
    out.mkdir()
    shutil.copy(DATA / f"{CROP}_restormer.png", out / "crop.png")
    return out


@pytest.fixture
def dataset_factory():
    """``make_dataset`` for tests that need their own size."""
    return make_dataset
