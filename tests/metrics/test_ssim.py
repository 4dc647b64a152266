"""SSIM variants against scikit-image, BasicSR-style OpenCV code, slow from-the-definition
implementations and published values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.signal import correlate
from skimage.color import rgb2ycbcr
from skimage.metrics import structural_similarity

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.metrics.colour import rgb_to_grey_matlab
from lode_bench.metrics.ssim import (
    matlab_box_downsample,
    ssim_gaussian,
    ssim_matlab_2d,
    ssim_matlab_rgb,
    ssim_skimage_default,
    ssim_wang,
    wang_downsample_factor,
)
from lode_bench.metrics.ssim_core import channel_mixing_matrix, set_threads, ssim_gaussian_map
from tests.metrics.metrics_data import METHODS, real_pair, tid_pair

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def gaussian_nd(ndim: int, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """exp(-|x|²/2σ²) on a size^ndim grid, normalised over all ndim axes (fspecial/fspecial3)."""
    r = size // 2
    grids = np.meshgrid(*([np.arange(-r, r + 1, dtype=np.float64)] * ndim), indexing="ij")
    k = np.exp(-sum(g * g for g in grids) / (2 * sigma * sigma))
    return k / k.sum()


def slow_ssim_map(x: np.ndarray, y: np.ndarray, w: np.ndarray, pad: str | None) -> np.ndarray:
    """SSIM map straight from the definition: explicit padding + direct 'valid' correlation."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    if pad is not None:
        widths = [(s // 2, s // 2) for s in w.shape]
        x = np.pad(x, widths, mode=pad)
        y = np.pad(y, widths, mode=pad)

    def f(a: np.ndarray) -> np.ndarray:
        return correlate(a, w, mode="valid", method="direct")

    mx, my = f(x), f(y)
    vx = f(x * x) - mx * mx
    vy = f(y * y) - my * my
    cxy = f(x * y) - mx * my
    return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))


def skimage_gaussian(p: np.ndarray, t: np.ndarray) -> float:
    return structural_similarity(
        p,
        t,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=2 if p.ndim == 3 else None,
    )


def basicsr_ssim(img: np.ndarray, img2: np.ndarray) -> float:
    """BasicSR calculate_ssim (cv2.filter2D per channel, then [5:-5, 5:-5]), written here."""
    k = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(k, k.transpose())
    vals = []
    for c in range(img.shape[2]):
        a = img[..., c].astype(np.float64)
        b = img2[..., c].astype(np.float64)
        mu1 = cv2.filter2D(a, -1, window)[5:-5, 5:-5]
        mu2 = cv2.filter2D(b, -1, window)[5:-5, 5:-5]
        s1 = cv2.filter2D(a * a, -1, window)[5:-5, 5:-5] - mu1**2
        s2 = cv2.filter2D(b * b, -1, window)[5:-5, 5:-5] - mu2**2
        s12 = cv2.filter2D(a * b, -1, window)[5:-5, 5:-5] - mu1 * mu2
        m = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1**2 + mu2**2 + C1) * (s1 + s2 + C2))
        vals.append(m.mean())
    return float(np.mean(vals))


# ---------------------------------------------------------------- per-channel Gaussian
@pytest.mark.parametrize("dataset", ["gopro", "realblur"])
@pytest.mark.parametrize("method", METHODS)
def test_ssim_gaussian_equals_skimage_and_basicsr_on_real_crops(dataset: str, method: str) -> None:
    out, gt = real_pair(dataset, method)
    ours = ssim_gaussian(out, gt)
    assert ours == pytest.approx(skimage_gaussian(out, gt), abs=1e-12)
    assert ours == pytest.approx(basicsr_ssim(out, gt), abs=1e-12)


KNOWN_CROP_SSIM = {
    ("gopro", "blur"): 0.5266,
    ("gopro", "hi-diff"): 0.9206,
    ("gopro", "restormer"): 0.8682,
    ("gopro", "stripformer"): 0.8698,
    ("realblur", "blur"): 0.5656,
    ("realblur", "hi-diff"): 0.7399,
    ("realblur", "restormer"): 0.6813,
    ("realblur", "stripformer"): 0.5218,
}


@pytest.mark.parametrize(("dataset", "method"), sorted(KNOWN_CROP_SSIM))
def test_ssim_gaussian_known_crop_values(dataset: str, method: str) -> None:
    out, gt = real_pair(dataset, method)
    assert round(ssim_gaussian(out, gt), 4) == KNOWN_CROP_SSIM[(dataset, method)]


def test_ssim_gaussian_random_and_float_input(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    ref = skimage_gaussian(p, t)
    assert ssim_gaussian(p, t) == pytest.approx(ref, abs=1e-12)
    assert ssim_gaussian(p / 255.0, t / 255.0, data_range=1.0) == pytest.approx(ref, abs=1e-10)


def test_ssim_gaussian_map_is_skimage_full_map_interior(
    noisy_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    p, t = noisy_pair
    _, full = structural_similarity(
        p[..., 0].astype(float),
        t[..., 0].astype(float),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    ours = ssim_gaussian_map(p[..., 0], t[..., 0], data_range=255.0)
    assert ours.shape == (p.shape[0] - 10, p.shape[1] - 10)
    np.testing.assert_allclose(ours, full[5:-5, 5:-5], rtol=0, atol=1e-12)
    slow = slow_ssim_map(p[..., 0], t[..., 0], gaussian_nd(2), pad=None)
    np.testing.assert_allclose(ours, slow, rtol=0, atol=1e-10)


def test_ssim_gaussian_y_and_crop_border(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    yp = rgb2ycbcr(p / 255.0)[..., 0]
    yt = rgb2ycbcr(t / 255.0)[..., 0]
    assert ssim_gaussian(p, t, colour="y") == pytest.approx(skimage_gaussian(yp, yt), abs=1e-12)
    ref_crop = skimage_gaussian(p[3:-3, 3:-3], t[3:-3, 3:-3])
    assert ssim_gaussian(p, t, crop_border=3) == pytest.approx(ref_crop, abs=1e-12)


def test_ssim_skimage_default_equals_skimage(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    ref = structural_similarity(p, t, data_range=255, channel_axis=2)
    assert ssim_skimage_default(p, t) == pytest.approx(ref, abs=1e-12)
    out, gt = real_pair("gopro", "restormer")
    ref = structural_similarity(out, gt, data_range=255, channel_axis=2)
    assert ssim_skimage_default(out, gt) == pytest.approx(ref, abs=1e-12)


# ---------------------------------------------------------------- Wang reference
@pytest.mark.parametrize(
    ("name", "official"),
    [("I03", 0.6993), ("I04", 0.9978), ("I06", 0.9989), ("I08", 0.9669), ("I19", 0.6519)],
)
def test_ssim_wang_tid2013_official_values(name: str, official: float) -> None:
    dist, ref = tid_pair(name)
    assert round(ssim_wang(dist, ref), 4) == official


def test_ssim_wang_is_gaussian_ssim_on_rounded_matlab_grey(tid_i03: tuple) -> None:
    dist, ref = tid_i03
    gd, gr = rgb_to_grey_matlab(dist), rgb_to_grey_matlab(ref)
    assert ssim_wang(dist, ref) == pytest.approx(skimage_gaussian(gd, gr), abs=1e-12)


def slow_matlab_box_downsample(img: np.ndarray, f: int) -> np.ndarray:
    """imfilter(img, ones(f)/f^2, 'symmetric', 'same') then img(1:f:end, 1:f:end), by loops."""
    h, w = img.shape
    c = (f + 1) // 2  # MATLAB kernel origin (1-based)

    def sym(i: int, n: int) -> int:  # MATLAB 'symmetric': mirror with the edge repeated
        if i < 0:
            return -i - 1
        if i >= n:
            return 2 * n - i - 1
        return i

    out = np.zeros(((h + f - 1) // f, (w + f - 1) // f))
    for oi, i in enumerate(range(0, h, f)):
        for oj, j in enumerate(range(0, w, f)):
            acc = 0.0
            for a in range(f):
                for b in range(f):
                    acc += img[sym(i + a - (c - 1), h), sym(j + b - (c - 1), w)]
            out[oi, oj] = acc / (f * f)
    return out


@pytest.mark.parametrize("f", [2, 3, 4])
def test_matlab_box_downsample_matches_loop_reference(rng: np.random.Generator, f: int) -> None:
    img = rng.integers(0, 256, (23, 18)).astype(np.float64)
    np.testing.assert_allclose(
        matlab_box_downsample(img, f), slow_matlab_box_downsample(img, f), rtol=0, atol=1e-12
    )


def test_wang_downsample_factor_uses_matlab_rounding() -> None:
    assert wang_downsample_factor(384, 512) == 2  # round(1.5) = 2
    assert wang_downsample_factor(640, 900) == 3  # MATLAB round(2.5) = 3 (Python round: 2)
    assert wang_downsample_factor(100, 120) == 1
    assert wang_downsample_factor(720, 1280) == 3


def test_ssim_wang_2009_downsampling(tid_i03: tuple) -> None:
    dist, ref = tid_i03  # 384×512 -> f = 2
    gd = slow_matlab_box_downsample(rgb_to_grey_matlab(dist), 2)
    gr = slow_matlab_box_downsample(rgb_to_grey_matlab(ref), 2)
    expected = slow_ssim_map(gd, gr, gaussian_nd(2), pad=None).mean()
    assert ssim_wang(dist, ref, downsample=True) == pytest.approx(expected, abs=1e-10)
    assert abs(ssim_wang(dist, ref, downsample=True) - ssim_wang(dist, ref)) > 1e-3


# ---------------------------------------------------------------- MATLAB built-in
def slow_matlab_rgb(p: np.ndarray, t: np.ndarray) -> float:
    """MATLAB ssim on H×W×3: 11×11×11 Gaussian, replicate padding on all three axes."""
    return float(slow_ssim_map(p, t, gaussian_nd(3), pad="edge").mean())


def test_ssim_matlab_rgb_matches_slow_3d_reference(
    noisy_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    p, t = noisy_pair
    p, t = p[:30, :41], t[:30, :41]
    assert ssim_matlab_rgb(p, t) == pytest.approx(slow_matlab_rgb(p, t), abs=1e-10)


def test_ssim_matlab_rgb_real_crop_matches_slow_reference() -> None:
    out, gt = real_pair("realblur", "restormer")
    out, gt = out[:, :60], gt[:, :60]
    assert ssim_matlab_rgb(out, gt) == pytest.approx(slow_matlab_rgb(out, gt), abs=1e-10)


def test_channel_mixing_matrix_hand_derived() -> None:
    g = gaussian_nd(1)  # taps g[0..10], centre 5
    m = channel_mixing_matrix()
    # channel 0: taps landing on index <= 0 (t <= 5) replicate channel 0
    np.testing.assert_allclose(m[0], [g[:6].sum(), g[6], g[7:].sum()], rtol=0, atol=1e-15)
    np.testing.assert_allclose(m[1], [g[:5].sum(), g[5], g[6:].sum()], rtol=0, atol=1e-15)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_ssim_matlab_rgb_colour_shift_much_lower_than_per_channel() -> None:
    _, gt = real_pair("gopro", "blur")
    shifted = np.clip(gt.astype(int) + np.array([50, 0, -50]), 0, 255).astype(np.uint8)
    per_channel = ssim_gaussian(shifted, gt)
    volume = ssim_matlab_rgb(shifted, gt)
    assert per_channel > 0.9
    assert volume < 0.5


@pytest.mark.parametrize(("padding", "mode"), [("replicate", "edge"), ("reflect", "reflect")])
def test_ssim_matlab_2d_matches_slow_reference(
    noisy_pair: tuple[np.ndarray, np.ndarray], padding: str, mode: str
) -> None:
    p, t = noisy_pair
    gp, gt = rgb_to_grey_matlab(p), rgb_to_grey_matlab(t)
    expected = slow_ssim_map(gp, gt, gaussian_nd(2), pad=mode).mean()
    assert ssim_matlab_2d(p, t, padding=padding) == pytest.approx(expected, abs=1e-10)
    yp, yt = rgb2ycbcr(p / 255.0)[..., 0], rgb2ycbcr(t / 255.0)[..., 0]
    expected_y = slow_ssim_map(yp, yt, gaussian_nd(2), pad=mode).mean()
    assert ssim_matlab_2d(p, t, padding=padding, colour="y") == pytest.approx(expected_y, abs=1e-10)


def test_ssim_matlab_2d_reflect_matches_torch_pad_reflect(
    noisy_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    import torch
    import torch.nn.functional as F

    p, t = noisy_pair
    gp = torch.from_numpy(rgb_to_grey_matlab(p))[None, None]
    gt = torch.from_numpy(rgb_to_grey_matlab(t))[None, None]
    w = torch.from_numpy(gaussian_nd(2))[None, None]
    gp, gt = F.pad(gp, (5, 5, 5, 5), mode="reflect"), F.pad(gt, (5, 5, 5, 5), mode="reflect")
    mx, my = F.conv2d(gp, w), F.conv2d(gt, w)
    vx = (F.conv2d(gp * gp, w) - mx**2).clamp(min=0)
    vy = (F.conv2d(gt * gt, w) - my**2).clamp(min=0)
    cxy = F.conv2d(gp * gt, w) - mx * my
    m = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    assert ssim_matlab_2d(p, t, padding="reflect") == pytest.approx(m.mean().item(), abs=1e-10)


# ---------------------------------------------------------------- properties and errors
def test_identical_images_give_one(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    _, t = noisy_pair
    for fn in (ssim_gaussian, ssim_matlab_rgb, ssim_matlab_2d, ssim_skimage_default, ssim_wang):
        assert fn(t, t) == pytest.approx(1.0, abs=1e-12), fn.__name__


def test_ssim_bad_inputs() -> None:
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ShapeMismatchError):
        ssim_gaussian(a, np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(ShapeMismatchError):
        ssim_matlab_rgb(a, np.zeros((21, 20, 3), np.uint8))
    bad = np.zeros((20, 20, 3))
    bad[0, 0, 0] = np.nan
    for fn in (ssim_gaussian, ssim_matlab_rgb, ssim_wang, ssim_matlab_2d, ssim_skimage_default):
        with pytest.raises(LodeBenchError, match="NaN"):
            fn(bad, a)
    with pytest.raises(LodeBenchError, match="smaller than the 11×11 window"):
        ssim_gaussian(np.zeros((8, 30, 3)), np.zeros((8, 30, 3)))
    with pytest.raises(LodeBenchError, match="H×W×3"):
        ssim_matlab_rgb(np.zeros((20, 20)), np.zeros((20, 20)))
    with pytest.raises(LodeBenchError, match="padding"):
        ssim_matlab_2d(a, a, padding="zeros")


# ---------------------------------------------------------------- strips, threads, scaling
def test_ssim_matlab_rgb_multi_strip_matches_slow_reference(rng: np.random.Generator) -> None:
    _, ref = tid_pair("I19")
    target = ref[40:150, 200:224]  # 110 rows: several strips of the engine
    pred = np.clip(target.astype(float) + rng.normal(0, 15, target.shape), 0, 255).astype(np.uint8)
    assert ssim_matlab_rgb(pred, target) == pytest.approx(slow_matlab_rgb(pred, target), abs=1e-10)
    assert ssim_matlab_rgb(pred / 255.0, target / 255.0, data_range=1.0) == pytest.approx(
        ssim_matlab_rgb(pred, target), abs=1e-12
    )


def test_results_do_not_depend_on_thread_count(tid_i03: tuple) -> None:
    dist, ref = tid_i03
    try:
        set_threads(1)
        one = (ssim_gaussian(dist, ref), ssim_matlab_rgb(dist, ref), ssim_wang(dist, ref))
        set_threads(4)
        four = (ssim_gaussian(dist, ref), ssim_matlab_rgb(dist, ref), ssim_wang(dist, ref))
    finally:
        set_threads(None)
    assert one == four
    assert one[0] == pytest.approx(skimage_gaussian(dist, ref), abs=1e-12)


def test_thread_setting_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LodeBenchError, match="thread count"):
        set_threads(0)
    monkeypatch.setenv("LODE_BENCH_METRIC_THREADS", "many")
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(LodeBenchError, match="LODE_BENCH_METRIC_THREADS"):
        ssim_gaussian(a, a)


def test_grey_uint8_inputs(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair[0][..., 1], noisy_pair[1][..., 1]
    assert ssim_gaussian(p, t) == pytest.approx(skimage_gaussian(p, t), abs=1e-12)
    ref = structural_similarity(p, t, data_range=255)
    assert ssim_skimage_default(p, t) == pytest.approx(ref, abs=1e-12)
    assert ssim_wang(p, t) == pytest.approx(skimage_gaussian(p, t), abs=1e-12)
    expected = slow_ssim_map(p, t, gaussian_nd(2), pad="edge").mean()
    assert ssim_matlab_2d(p, t) == pytest.approx(expected, abs=1e-10)
