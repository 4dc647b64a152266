"""The least-squares kernel estimator against known PSFs, and kernel shape features.

Known kernels: the built-in global samples store the exact PSF of their camera motion
(``kernel``), and random camera-shake trajectories (curved paths) are rendered here with
:func:`lode_bench.synth.kernels.trajectory_psf` and applied in linear light.

Tolerances (measured when this test was written, 240×320 built-in samples and
256×384 shake blurs with Gaussian noise σ = 0.003 in linear light):
extent error ≤ 0.75 px observed → tested at ≤ 1.0 px; direction error ≤ 0.4° on
the built-in pans (anisotropy > 0.9) → tested at ≤ 2°; L1 distance of the estimated to
the true built-in PSF ≤ 0.1 → tested at ≤ 0.2; ≤ 1.7° on shake kernels with
anisotropy ≥ 0.5 → tested at ≤ 5°.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lode_bench.analyze.kernel import estimate_kernel, kernel_features, linear_grey, patch_grid
from lode_bench.datasets.registry import resolve_dataset
from lode_bench.io.images import read_image
from lode_bench.synth.builtin import builtin_photo, fit_photo
from lode_bench.synth.builtin_dataset import build_builtin_dataset
from lode_bench.synth.kernels import convolve, random_shake_trajectory, trajectory_psf

EXTENT_TOL_PX = 1.0


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


def test_features_of_hand_made_kernels() -> None:
    line = np.zeros((9, 9))
    line[4, 1:8] = 1.0  # 7 px horizontal: discrete uniform variance (7² − 1)/12 = 4
    f = kernel_features(line)
    assert f.extent_px == pytest.approx(math.sqrt(12 * 4.0))
    assert f.direction_deg == 0.0 and f.anisotropy == pytest.approx(1.0)
    assert f.nonlinearity == pytest.approx(0.0, abs=1e-12)
    assert kernel_features(line.T).direction_deg == pytest.approx(90.0)
    diag = np.zeros((9, 9))
    for i in range(-3, 4):
        diag[4 - i, 4 + i] = 1.0  # up and to the right on screen (rows grow downwards)
    assert kernel_features(diag).direction_deg == pytest.approx(45.0)
    assert kernel_features(diag[:, ::-1]).direction_deg == pytest.approx(135.0)
    yy, xx = np.mgrid[-7:8, -7:8]
    round_ = np.exp(-(xx**2 + yy**2) / (2 * 2.0**2))
    fr = kernel_features(round_)
    assert fr.anisotropy < 1e-6 and fr.extent_px == pytest.approx(math.sqrt(12) * 2.0, rel=1e-2)
    # circular arc, radius R = 12 px, half-angle a = 0.9 rad, uniform in angle t:
    # along-axis u = R sin t, Var u = R²(1/2 − sin 2a/(4a)) = 33.05 -> extent 19.92 px;
    # across v = R cos t is exactly quadratic-like; its RMS about its mean is
    # R·sqrt(1/2 + sin 2a/(4a) − (sin a / a)²) = 1.364 px -> non-linearity 0.0685
    r, a = 12.0, 0.9
    arc = np.zeros((31, 31))
    for t in np.linspace(-a, a, 2001):
        arc[int(round(15 + r * (np.cos(t) - 0.87))), int(round(15 + r * np.sin(t)))] += 1
    fa = kernel_features(arc)
    var_u = r**2 * (0.5 - np.sin(2 * a) / (4 * a))
    rms_v = r * math.sqrt(0.5 + np.sin(2 * a) / (4 * a) - (np.sin(a) / a) ** 2)
    assert fa.extent_px == pytest.approx(math.sqrt(12 * var_u), abs=0.3)  # pixel rounding
    assert fa.nonlinearity == pytest.approx(rms_v / math.sqrt(12 * var_u), abs=0.006)
    assert math.isnan(kernel_features(np.zeros((5, 5))).extent_px)
    delta = np.zeros((5, 5))
    delta[2, 2] = 1
    assert kernel_features(delta).extent_px == 0.0


@pytest.fixture(scope="module")
def builtin_global(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("glob")
    build_builtin_dataset(root, kind="global", n_samples=6, size=(240, 320), seed=0)
    return resolve_dataset(str(root))


def test_estimator_recovers_builtin_psfs(builtin_global) -> None:
    errors = []
    for s in builtin_global.samples:
        est = estimate_kernel(read_image(s.sharp), read_image(s.blur))
        assert len(est.patch_kernels) >= 1 and est.kernel.sum() == pytest.approx(1.0)
        got, true = kernel_features(est.kernel), kernel_features(s.array("kernel"))
        errors.append(got.extent_px - true.extent_px)
        assert abs(got.extent_px - true.extent_px) <= EXTENT_TOL_PX, s.id
        assert true.anisotropy > 0.9
        assert _angle_diff(got.direction_deg, true.direction_deg) <= 2.0, s.id
        assert abs(got.anisotropy - true.anisotropy) <= 0.05
        assert est.residual_rms < 3.0  # 8-bit grey levels
        # the kernel itself, not only its shape: L1 distance to the true PSF (both sum to
        # 1; max 2). Measured ≤ 0.1; the point-mirrored PSF is ≥ 0.8 away.
        true_k = s.array("kernel")
        p = (est.kernel.shape[0] - true_k.shape[0]) // 2
        true_k = np.pad(true_k, p) if p >= 0 else true_k[-p:p, -p:p]
        assert np.abs(est.kernel - true_k).sum() <= 0.2, s.id
    assert max(abs(e) for e in errors) <= EXTENT_TOL_PX


def test_estimator_on_curved_shake_kernels_with_noise() -> None:
    rng = np.random.default_rng(0)
    cases = [("astronaut", 8), ("coffee", 15), ("chelsea", 20), ("rocket", 25), ("motorcycle", 12)]
    for photo, extent in cases:
        sharp = fit_photo(builtin_photo(photo), (256, 384))
        k = trajectory_psf(random_shake_trajectory(rng, max_extent=extent))
        lin = convolve((sharp / 255.0) ** 2.2, k) + rng.normal(0, 0.003, sharp.shape)
        blur = np.round(np.clip(lin, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
        got = kernel_features(estimate_kernel(sharp, blur, ksize=41).kernel)
        true = kernel_features(k)
        assert abs(got.extent_px - true.extent_px) <= EXTENT_TOL_PX, (photo, got, true)
        if true.anisotropy >= 0.5:
            assert _angle_diff(got.direction_deg, true.direction_deg) <= 5.0, (photo, got, true)
        assert abs(got.nonlinearity - true.nonlinearity) <= 0.03, (photo, got, true)


def test_sharp_pair_gives_a_point_kernel() -> None:
    img = fit_photo(builtin_photo("astronaut"), (256, 256))
    f = kernel_features(estimate_kernel(img, img).kernel)
    assert f.extent_px < 0.5


def test_bad_arguments() -> None:
    a = np.zeros((200, 200, 3), np.uint8)
    with pytest.raises(ValueError, match="odd"):
        estimate_kernel(a, a, ksize=30)
    with pytest.raises(ValueError, match="exceed"):
        estimate_kernel(a, a, ksize=31, patch=60)
    with pytest.raises(ValueError, match="differ"):
        estimate_kernel(a, a[:100], ksize=31)
    # too small for one patch: an empty estimate, not an exception
    est = estimate_kernel(a[:50, :50], a[:50, :50], ksize=11, patch=64)
    assert est.n_patches == 0 and math.isnan(est.residual_rms)
    # a flat image has no texture: no patch is used
    assert len(estimate_kernel(a, a, ksize=11, patch=64).patch_kernels) == 0


def test_patch_grid_and_linearisation() -> None:
    grid = patch_grid((720, 1280), 128)
    assert len(grid) == 5 * 10 and grid[0] == ((720 - 640) // 2, 0)
    assert len(patch_grid((4000, 6000), 128, max_patches=64)) <= 64
    assert patch_grid((100, 100), 128) == []
    g = linear_grey(np.full((2, 2, 3), 128, np.uint8))
    assert g[0, 0] == pytest.approx((128 / 255) ** 2.2)
