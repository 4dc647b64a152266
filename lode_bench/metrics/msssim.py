"""Multi-scale SSIM as in Wang's ``msssim.m`` (PROTOCOLS §4.3), computed in float64.

At each of the 5 scales the 'valid' 11×11 Gaussian (σ = 1.5) SSIM map and
contrast-structure map are averaged; between scales both images go through
``imfilter(img, ones(2)/4, 'symmetric', 'same')`` and keep every second pixel
(``img(1:2:end, 1:2:end)``). ``msssim.m`` combines the scales in one of two ways
(its ``method`` argument), both offered here:

* ``"product"`` (its default): ``Π_{l=1..4} cs_l^{w_l} · ssim_5^{w_5}`` with weights
  0.0448, 0.2856, 0.3001, 0.2363, 0.1333 (not renormalised);
* ``"wtd_sum"``: the weights renormalised to sum 1, then
  ``Σ_{l=1..4} w_l · cs_l + w_5 · ssim_5``. IQA-PyTorch's published TID2013 MS-SSIM
  column (its MATLAB reference) is this form.

The oldest ``msssim.m`` downsampled with ``filter2(..., 'valid')`` and
``(1:2:M-1, 1:2:N-1)``; on even sizes (e.g. 512×384 at every scale) both give the same
pixels, on odd sizes the newer symmetric-padding rule keeps one more row/column.
"""

from __future__ import annotations

import numpy as np

from lode_bench.metrics.colour import MetricInputError, prepare_pair, to_channel_space
from lode_bench.metrics.ssim import matlab_box_downsample
from lode_bench.metrics.ssim_core import RADIUS, ssim_gaussian_map

MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
    method: str = "product",
) -> float:
    """Wang's MS-SSIM on MATLAB ``rgb2gray`` (rounded) images.

    Args:
        pred: H×W×3 RGB (or H×W grey) prediction in ``[0, data_range]``.
        target: target of the same shape.
        data_range: full-scale value of the inputs (rescaled to L = 255).
        weights: per-scale weights; their count is the number of scales.
        method: ``"product"`` (exponents, ``msssim.m``'s default) or ``"wtd_sum"``
            (weighted sum with the weights renormalised to sum 1).

    Returns:
        MS-SSIM. A negative contrast-structure mean raised to a fractional power has no
        real value: the result is then ``nan`` (MATLAB would return a complex number).

    Raises:
        MetricInputError: unknown ``method``, or the image is too small for the coarsest scale
            (min(H, W) / 2^(scales−1) < 11, as ``msssim.m`` checks).
    """
    if method not in ("product", "wtd_sum"):
        raise MetricInputError(f"ms_ssim method must be 'product' or 'wtd_sum', got {method!r}")
    p, t = prepare_pair(pred, target, data_range=data_range)
    p = to_channel_space(p, "grey")
    t = to_channel_space(t, "grey")
    levels = len(weights)
    if levels < 1:
        raise MetricInputError("ms_ssim needs at least one weight")
    win = 2 * RADIUS + 1
    if min(p.shape) / 2.0 ** (levels - 1) < win:
        raise MetricInputError(
            f"ms_ssim: image {p.shape[0]}×{p.shape[1]} is too small for {levels} scales "
            f"(min side / 2^{levels - 1} must be ≥ {win})"
        )
    mcs: list[float] = []
    mssim = 0.0
    for level in range(levels):
        smap, cs = ssim_gaussian_map(p, t, data_range=255.0, return_cs=True)
        mcs.append(float(np.mean(cs)))
        mssim = float(np.mean(smap))
        if level < levels - 1:
            p = matlab_box_downsample(p, 2)
            t = matlab_box_downsample(t, 2)
    if method == "wtd_sum":
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum()
        return float(np.sum(np.array(mcs[:-1]) * w[:-1]) + mssim * w[-1])
    with np.errstate(invalid="ignore"):
        score = np.prod(np.power(np.array(mcs[:-1]), np.array(weights[:-1])))
        score *= np.power(mssim, weights[-1])
    return float(score)
