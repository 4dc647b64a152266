"""Every registered model, straight from the registry: a forward pass on a small real image
keeps the shape and the value range.

Cards that need an external file or program (TorchScript file, command, folder of outputs)
are skipped with that reason. Torch architectures without shipped weights run with seeded
random weights (small widths where ``test_archs`` has them, to stay fast on a CPU); the
shipped lode-tiny weights, the identity and the classical methods run as they are.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lode_bench.datasets.types import Sample
from lode_bench.models import ModelSpec, get_model_card, list_model_cards, load_model
from tests.models.test_archs import SMALL

NAMES = sorted(c.name for c in list_model_cards())
KERNEL = np.zeros((5, 5))
KERNEL[2, :] = 1 / 5  # 5 px horizontal motion


@pytest.fixture(scope="module")
def blurry() -> tuple[np.ndarray, np.ndarray]:
    """A 32×48 crop of a real photograph, blurred by ``KERNEL`` (float32 in [0, 1]), and the sharp crop."""
    from skimage import data

    sharp = data.astronaut()[60:92, 200:248].astype(np.float64) / 255
    planes = [ndimage.convolve(sharp[..., c], KERNEL, mode="reflect") for c in range(3)]
    return np.stack(planes, -1).astype(np.float32), sharp


def test_registry_lists_every_kind():
    kinds = {get_model_card(n).kind for n in NAMES}
    assert kinds == {"numpy", "torch", "adapter"} and {"identity", "lode-tiny", "nafnet"} <= set(
        NAMES
    )


@pytest.mark.parametrize("name", NAMES)
def test_forward_keeps_shape_and_range(
    name: str, blurry: tuple[np.ndarray, np.ndarray], tmp_path
) -> None:
    card = get_model_card(name)
    if card.kind == "adapter":
        pytest.skip(f"{name}: runs an external file or program ({card.description})")
    random = card.kind == "torch" and not card.bundled_weights
    if card.kind != "torch" and card.needs_checkpoint:
        pytest.skip(f"{name}: needs a checkpoint file")
    options = dict(SMALL[name][0]) if random and name in SMALL else {}
    model = load_model(
        ModelSpec(name, options=options, random_weights=random, seed=3), device="cpu"
    )
    np.save(tmp_path / "k.npy", KERNEL)
    sample = Sample("crop", "crop.png", arrays={"kernel": str(tmp_path / "k.npy")})
    img, _ = blurry
    try:
        out = model.deblur(img.copy(), sample)
        again = model.deblur(img.copy(), sample)
    finally:
        model.close()
    assert out.shape == img.shape and out.dtype in (np.float32, np.uint8)
    out = out.astype(np.float64) / (255.0 if out.dtype == np.uint8 else 1.0)
    assert np.all(np.isfinite(out))
    # in the input's [0, 1] range up to the overshoot of sharpening (a wrong input_range
    # scaling, e.g. a 0-255 network fed 0-1, would be off by a factor of 255)
    assert -1.0 <= out.min() and out.max() <= 2.0, (out.min(), out.max())
    np.testing.assert_array_equal(
        out, again.astype(np.float64) / (255.0 if again.dtype == np.uint8 else 1.0)
    )
    if not random:  # real methods (identity, classical, shipped weights) stay near their input
        assert np.mean(np.abs(out - img)) < 0.1
    if name == "identity":
        np.testing.assert_array_equal(out, img)
