"""RealBlur aligned PSNR/SSIM (PROTOCOLS §4.5), reimplemented on current OpenCV/numpy.

Order of operations, per image, as in RealBlur's ``evaluate_RealBlur.py`` (which pins
scikit-image 0.17.2 and OpenCV 4.2):

1. ``x`` = ground truth, ``z`` = output, float in [0, 1] (uint8 / 255).
2. Intensity match ``zs = (Σ x·z / Σ z·z) · z`` (one least-squares gain, no offset).
3. ECC homography ``cv2.findTransformECC(gray(x), gray(zs), I₃, MOTION_HOMOGRAPHY,
   (EPS | COUNT, 100, 0), None, 5)``; ``x`` is the template, grey is OpenCV's
   ``RGB2GRAY`` (0.299, 0.587, 0.114) on float32 images.
4. ``zr = warpPerspective(zs, H, INTER_CUBIC | WARP_INVERSE_MAP, BORDER_REFLECT)``.
5. ``cr = warpPerspective(ones, H, INTER_NEAREST | WARP_INVERSE_MAP, BORDER_CONSTANT 0)``
   (3 channels); ``zr *= cr``; ``xr = x · cr``.
6. PSNR = ``10 log10(1 / (Σ (xr − zr)² / Σ cr))``.
7. SSIM: per-channel Gaussian SSIM map of ``(xr, zr)`` (σ = 1.5, population statistics,
   data range 1), times ``cr``, cropped by 5 pixels on each side; per channel
   ``Σ map / Σ cr`` over the cropped area; mean over channels. Inside the 5-pixel crop
   the window never reaches the border, so skimage's reflect padding of the full map
   does not enter the result and the 'valid' map is used directly.

The official script runs everything in float32 (ECC requires float32 or integer
input). ``precision="float64"`` (default) keeps the float32 ECC step and the float32
cubic warp (OpenCV 5.0's cubic warp of float64 images is broken: an identity warp
changes pixels by up to 1.0), and does the intensity match, masking and scores in float64;
``precision="float32"`` follows the official script's float32 arrays throughout.
The two differ by ~1e-4 dB. Both take the inputs as the official script does, as
float32 values of ``uint8 / 255``: on identical images the gain is exactly 1, ECC
returns the identity, the warp reproduces the image and PSNR is ``inf``.

An ECC failure (OpenCV raises when the images are uncorrelated, constant, or the
iteration diverges, or the homography comes back non-finite) raises
:class:`ECCAlignmentError` with OpenCV's reason; the caller records it per image.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.metrics.colour import (
    MetricInputError,
    check_data_range,
    check_image,
    check_same_shape,
)
from lode_bench.metrics.ssim_core import RADIUS, ssim_gaussian_map

ECC_ITERATIONS = 100
ECC_EPS = 0.0
ECC_GAUSS_FILT_SIZE = 5


class ECCAlignmentError(LodeBenchError):
    """ECC registration of an output to its ground truth failed (reason in the message)."""


_Float = np.dtype[np.floating[Any]]


def _working_dtype(precision: str) -> _Float:
    return np.dtype(np.float64) if precision == "float64" else np.dtype(np.float32)


def _to_unit(img: np.ndarray, data_range: float, dtype: _Float) -> np.ndarray:
    # The official script's inputs are float32 (uint8 / 255 in float32). Both precisions
    # start from those values, so the float32 cast before the cubic warp is exact
    # whenever the intensity gain is 1: identical images warp back to themselves and give
    # PSNR = inf, as the official script does (float64 inputs left a ~1e-8 residue).
    unit = (np.asarray(img, dtype=np.float64) / data_range).astype(np.float32)
    return unit.astype(dtype, copy=False)


def _grey32(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(img, dtype=np.float32), cv2.COLOR_RGB2GRAY)


def ecc_homography(template: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, float]:
    """ECC homography mapping template coordinates into the moving image.

    Args:
        template: H×W×3 float image in [0, 1] (the ground truth).
        moving: H×W×3 float image in [0, 1] (the intensity-matched output).

    Returns:
        ``(H, rho)``: float32 3×3 warp for ``WARP_INVERSE_MAP`` and the final ECC
        correlation coefficient.

    Raises:
        ECCAlignmentError: OpenCV failed or returned a non-finite warp.
    """
    warp = np.eye(3, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPS)
    try:
        rho, warp = cv2.findTransformECC(
            _grey32(template),
            _grey32(moving),
            warp,
            cv2.MOTION_HOMOGRAPHY,
            criteria,
            None,
            ECC_GAUSS_FILT_SIZE,
        )  # type: ignore[call-overload]
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        raise ECCAlignmentError(f"ECC alignment failed: {reason}") from exc
    if not np.all(np.isfinite(warp)) or not math.isfinite(rho):
        raise ECCAlignmentError(f"ECC alignment failed: non-finite result (rho={rho})")
    return warp, float(rho)


def align_to_target(
    pred: np.ndarray, target: np.ndarray, *, precision: str = "float64"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Steps 2–5 of the protocol on [0, 1] images.

    Args:
        pred: H×W×3 output in [0, 1].
        target: H×W×3 ground truth in [0, 1].
        precision: ``"float64"`` or ``"float32"`` (official script).

    Returns:
        ``(zr, xr, cr, warp, rho)``: aligned output, masked ground truth, valid mask
        (H×W×3, 0/1), the 3×3 homography and the ECC correlation.
    """
    dtype = _working_dtype(precision)
    z = pred.astype(dtype, copy=False)
    x = target.astype(dtype, copy=False)
    zz = np.sum(z * z)  # sums in the working precision, as the official script
    if zz == 0.0:
        raise ECCAlignmentError("ECC alignment failed: the output image is all black")
    zs = (np.sum(x * z) / zz) * z
    warp, rho = ecc_homography(x, zs)
    h, w = x.shape[:2]
    # The cubic warp runs on float32 in both precisions: OpenCV interpolates on a
    # 1/32-pixel table either way, and OpenCV 5.0's INTER_CUBIC on CV_64F input is
    # wrong (an identity warp changes pixels by up to 1.0), so float32 is also the
    # only correct choice there.
    zr = cv2.warpPerspective(
        zs.astype(np.float32),
        warp,
        (w, h),
        flags=cv2.INTER_CUBIC + cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    ).astype(dtype, copy=False)
    cr = cv2.warpPerspective(
        np.ones((h, w, 3), dtype=np.float32),
        warp,
        (w, h),
        flags=cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).astype(dtype, copy=False)
    zr = zr * cr
    xr = x * cr
    return zr, xr, cr, warp, rho


def realblur_aligned(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    precision: str = "float64",
    psnr_normalisation: str = "valid",
) -> dict[str, float]:
    """RealBlur/RSBlur/ReLoBlur aligned PSNR and SSIM of one output.

    Args:
        pred: H×W×3 RGB output in ``[0, data_range]`` (normally uint8).
        target: H×W×3 RGB ground truth of the same shape.
        data_range: full-scale value of the inputs (they are divided by it).
        precision: ``"float64"`` (default) or ``"float32"`` to follow the official
            script's float32 arithmetic.
        psnr_normalisation: ``"valid"`` (RealBlur/RSBlur: squared error divided by the
            number of valid warped values, Σ cr) or ``"all"`` (ReLoBlur/LBAG
            ``aligned_psnr_metric``: mean over all H·W·3 values, the invalid border
            counting as zero error, i.e. ``valid + 10·log10(3HW / Σ cr)``).

    Returns:
        ``{"aligned_psnr": dB, "aligned_ssim": value, "ecc_rho": ECC correlation}``;
        ``aligned_psnr`` is ``inf`` when the aligned images are identical.

    Raises:
        ECCAlignmentError: the ECC registration failed (record it per image).
        ShapeMismatchError, MetricInputError: bad inputs.
    """
    if precision not in ("float64", "float32"):
        raise MetricInputError(f"precision must be 'float64' or 'float32', got {precision!r}")
    if psnr_normalisation not in ("valid", "all"):
        raise MetricInputError(
            f"psnr_normalisation must be 'valid' or 'all', got {psnr_normalisation!r}"
        )
    dr = check_data_range(data_range)
    p = check_image(pred, name="prediction", allow_grey=False)
    t = check_image(target, name="target", allow_grey=False)
    check_same_shape(p, t)
    dtype = _working_dtype(precision)
    zr, xr, cr, _, rho = align_to_target(
        _to_unit(p, dr, dtype), _to_unit(t, dr, dtype), precision=precision
    )

    diff = xr - zr
    count = float(np.sum(cr, dtype=np.float64)) if psnr_normalisation == "valid" else cr.size
    err = float(np.sum(diff * diff, dtype=np.float64)) / count
    aligned_psnr = math.inf if err == 0.0 else 10.0 * math.log10(1.0 / err)

    smap = ssim_gaussian_map(xr, zr, data_range=1.0)  # (H-10)×(W-10)×3, 'valid'
    crc = cr[RADIUS:-RADIUS, RADIUS:-RADIUS, :].astype(np.float64)
    num = (np.asarray(smap) * crc).sum(axis=(0, 1))
    den = crc.sum(axis=(0, 1))
    if np.any(den == 0):
        raise ECCAlignmentError("ECC alignment left no valid pixels inside the 5-pixel border")
    aligned_ssim = float(np.mean(num / den))
    return {"aligned_psnr": aligned_psnr, "aligned_ssim": aligned_ssim, "ecc_rho": rho}
