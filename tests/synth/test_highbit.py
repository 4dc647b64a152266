"""16-bit sources through every recipe path: local-real, interpolation, degradations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lode_bench.io import read_image, write_image
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.recipes import load_recipe, validate_recipe

H, W = 48, 64


def _scene16(n: int, tmp: Path, *, moving: bool) -> tuple[Path, list[np.ndarray]]:
    yy, xx = np.mgrid[:H, :W]
    bg = (1000 + 400 * xx + 300 * yy).astype(np.uint16)  # smooth 16-bit ramp with sub-8-bit detail
    frames = []
    for i in range(n):
        f = np.stack([bg, bg // 2 + 7, 60000 - bg], axis=-1).astype(np.uint16)
        if moving:
            x0 = 10 + 2 * i
            f[18:30, x0 : x0 + 10] = (62000, 3000, 30000)
        frames.append(f)
        write_image(tmp / f"{i:04d}.png", f)
    return tmp, frames


def test_local_real_16bit_blends_at_full_precision(tmp_path: Path) -> None:
    folder, frames = _scene16(9, tmp_path / "f", moving=True)
    doc = {
        "kind": "local-real",
        "frames": {"n": [9]},
        "response": "gamma",
        "bit_depth": 16,
        "mask": {"diff_threshold": 12},
    }
    m = run_recipe(
        validate_recipe(doc, name="lr16"), tmp_path / "ds", source=folder, progress=False
    )
    (s,) = m.samples
    blur = read_image(m.root / s["files"]["blur"], dtype="native")
    sharp = read_image(m.root / s["files"]["sharp"], dtype="native")
    mask = read_image(m.root / s["files"]["mask"])[..., 0] > 0
    assert blur.dtype == np.uint16 and s["bit_depth"] == "16"
    np.testing.assert_array_equal(sharp, frames[4])
    np.testing.assert_array_equal(blur[~mask], frames[4][~mask])  # background bit-exact, 16 bits
    ref = np.mean([(f / 65535.0) ** 2.2 for f in frames], axis=0) ** (1 / 2.2) * 65535
    core = np.zeros((H, W), bool)
    core[20:28, 20:34] = True  # well inside the moving object's path: full weight
    assert mask[core].all()
    assert np.abs(blur[core] - ref[core]).max() <= 0.5 + 1e-6


def test_interpolated_recipe_on_16bit_static_scene(tmp_path: Path) -> None:
    folder, frames = _scene16(5, tmp_path / "f", moving=False)
    m = run_recipe(load_recipe("reds-like"), tmp_path / "ds", source=folder, progress=False)
    (s,) = m.samples
    blur = read_image(m.root / s["files"]["blur"]).astype(np.float64)
    expected = np.rint(frames[2] / 257.0)
    # a static scene stays itself through x16 interpolation and the tabulated response
    assert np.abs(blur - expected).max() <= 1
    assert s["n_averaged"] > 5 and s["bit_depth"] == "16"


def test_degraded_recipe_on_16bit_frames(tmp_path: Path) -> None:
    folder, _ = _scene16(9, tmp_path / "f", moving=True)
    m = run_recipe(load_recipe("rsblur-like"), tmp_path / "ds", source=folder, progress=False)
    s = m.samples[0]
    blur = read_image(m.root / s["files"]["blur"], dtype="native")
    sharp = read_image(m.root / s["files"]["sharp"], dtype="native")
    assert blur.dtype == np.uint8 and blur.shape == sharp.shape
    assert s["bit_depth"] == "16" and "blur_draws" in s


@pytest.mark.parametrize("bits", [8, 16])
def test_bit_depth_refuses_jpeg_with_16(tmp_path: Path, bits: int) -> None:
    from lode_bench.errors import ConfigError

    folder, _ = _scene16(3, tmp_path / "f", moving=False)
    doc = {"kind": "global", "frames": {"n": [3]}, "jpeg": {"quality": 90}, "bit_depth": bits}
    rec = validate_recipe(doc, name="j")
    if bits == 16:
        with pytest.raises(ConfigError, match="bit_depth 8"):
            run_recipe(rec, tmp_path / "ds", source=folder, progress=False)
    else:
        assert len(run_recipe(rec, tmp_path / "ds", source=folder, progress=False).samples) == 1
