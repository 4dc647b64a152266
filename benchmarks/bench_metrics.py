"""Speed and agreement of lode-bench metrics on 1280×720 RGB pairs.

Compares, in the same run and on the same images:

* PSNR + per-channel Gaussian SSIM: lode-bench vs scikit-image (``peak_signal_noise_ratio``
  + ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``)
  vs a BasicSR-style OpenCV implementation (``cv2.filter2D`` per channel, as BasicSR's
  ``calculate_ssim``; written below);
* PSNR + MATLAB RGB SSIM (the ``gopro`` protocol): lode-bench vs a float32 11×11×11
  ``conv3d`` port in the style of NAFNet's ``ssim3d`` (written below, torch on CPU).

Prints the values (to show they agree), median times and speed ratios.

Usage: python benchmarks/bench_metrics.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np


def make_pair() -> tuple[np.ndarray, np.ndarray]:
    """A real photograph (skimage's astronaut) at 1280×720 and a blurred, noisy version."""
    from skimage import data

    target = cv2.resize(data.astronaut(), (1280, 720), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    blurred = cv2.GaussianBlur(target.astype(np.float64), (0, 0), 1.2)
    pred = np.clip(np.rint(blurred + rng.normal(0, 4, target.shape)), 0, 255).astype(np.uint8)
    return pred, target


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Time several functions round-robin (one warm-up call each), so that load from
    other processes hits all of them alike. Returns per-function times and results."""
    results = {name: fn() for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return times, results


def paired_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over repeats of the per-round time ratio."""
    return statistics.median(a / b for a, b in zip(slow, fast, strict=True))


# ----------------------------------------------------------------- reference implementations
def basicsr_style(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """BasicSR calculate_psnr + calculate_ssim (crop 0, RGB), re-written here."""
    a, b = pred.astype(np.float64), target.astype(np.float64)
    psnr = 10.0 * np.log10(255.0**2 / np.mean((a - b) ** 2))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(k, k.transpose())
    vals = []
    for c in range(3):
        x, y = a[..., c], b[..., c]
        mu1 = cv2.filter2D(x, -1, window)[5:-5, 5:-5]
        mu2 = cv2.filter2D(y, -1, window)[5:-5, 5:-5]
        s1 = cv2.filter2D(x**2, -1, window)[5:-5, 5:-5] - mu1**2
        s2 = cv2.filter2D(y**2, -1, window)[5:-5, 5:-5] - mu2**2
        s12 = cv2.filter2D(x * y, -1, window)[5:-5, 5:-5] - mu1 * mu2
        m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s1 + s2 + c2))
        vals.append(m.mean())
    return float(psnr), float(np.mean(vals))


def skimage_style(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    p = peak_signal_noise_ratio(target, pred, data_range=255)
    s = structural_similarity(
        pred,
        target,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=2,
    )
    return float(p), float(s)


def conv3d_float32_ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """MATLAB RGB SSIM as an 11×11×11 float32 conv3d with replicate padding (NAFNet-style)."""
    import torch
    import torch.nn.functional as F

    g = cv2.getGaussianKernel(11, 1.5).ravel()
    w = torch.from_numpy(np.einsum("i,j,k->ijk", g, g, g).astype(np.float32))[None, None]

    def f(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (5, 5, 5, 5, 5, 5), mode="replicate")
        return F.conv3d(x, w)

    # volume layout N×1×D×H×W with D the colour axis
    x = torch.from_numpy(pred.astype(np.float32)).permute(2, 0, 1)[None, None]
    y = torch.from_numpy(target.astype(np.float32)).permute(2, 0, 1)[None, None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    with torch.no_grad():
        mx, my = f(x), f(y)
        sx, sy, sxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sx + sy + c2))
    return float(m.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for lode-bench SSIM strips, OpenCV and torch (default 1)",
    )
    ap.add_argument("--skip-conv3d", action="store_true", help="skip the slow conv3d reference")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:  # pragma: no cover
        pass

    from lode_bench.metrics.psnr import psnr
    from lode_bench.metrics.ssim import ssim_gaussian, ssim_matlab_rgb
    from lode_bench.metrics.ssim_core import set_threads

    set_threads(args.threads)

    pred, target = make_pair()
    print(f"pair: 1280×720 RGB uint8, repeats={args.repeats}, threads={args.threads}")

    def ours() -> tuple[float, float]:
        return psnr(pred, target), ssim_gaussian(pred, target)

    def gopro() -> tuple[float, float]:
        return psnr(pred, target), ssim_matlab_rgb(pred, target)

    times, vals = interleaved(
        {
            "lode-bench": ours,
            "scikit-image": lambda: skimage_style(pred, target),
            "BasicSR-style cv2.filter2D": lambda: basicsr_style(pred, target),
            "gopro": gopro,
        },
        args.repeats,
    )
    print("\nPSNR + per-channel Gaussian SSIM (median time of the interleaved rounds)")
    print(f"{'implementation':<28}{'time/pair':>12}{'PSNR':>20}{'SSIM':>22}")
    for name in ("lode-bench", "scikit-image", "BasicSR-style cv2.filter2D"):
        v = vals[name]
        t = statistics.median(times[name])
        print(f"{name:<28}{t * 1e3:>10.1f}ms{v[0]:>20.12f}{v[1]:>22.15f}")  # type: ignore[index]
    v_ours, v_sk, v_bs = (
        vals["lode-bench"],
        vals["scikit-image"],
        vals["BasicSR-style cv2.filter2D"],
    )
    dp = max(abs(v_ours[0] - v_sk[0]), abs(v_ours[0] - v_bs[0]))  # type: ignore[index]
    ds = max(abs(v_ours[1] - v_sk[1]), abs(v_ours[1] - v_bs[1]))  # type: ignore[index]
    print(f"max |Δ| PSNR {dp:.2e} dB, SSIM {ds:.2e}")
    r_sk = paired_ratio(times["scikit-image"], times["lode-bench"])
    r_bs = paired_ratio(times["BasicSR-style cv2.filter2D"], times["lode-bench"])
    print(
        f"speed-up (median of per-round ratios) vs scikit-image: {r_sk:.2f}×   "
        f"vs BasicSR-style: {r_bs:.2f}×"
    )

    t_g, v_g = statistics.median(times["gopro"]), vals["gopro"]
    print("\nPSNR + MATLAB RGB SSIM (gopro protocol)")
    print(f"lode-bench: {t_g * 1e3:.1f} ms/pair = {1.0 / t_g:.2f} pairs/s; SSIM {v_g[1]:.15f}")  # type: ignore[index]
    if not args.skip_conv3d:
        t0 = time.perf_counter()
        v_c = conv3d_float32_ssim(pred, target)
        t_c = time.perf_counter() - t0
        print(
            f"float32 conv3d (NAFNet-style): {t_c * 1e3:.1f} ms/pair; SSIM {v_c:.15f}; "
            f"|Δ| {abs(v_c - v_g[1]):.2e}; speed-up {t_c / t_g:.1f}×"
        )  # type: ignore[index]


if __name__ == "__main__":
    main()
