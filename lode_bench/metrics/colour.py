"""Input checks and colour conversions shared by the metric functions.

Every metric converts its inputs with :func:`prepare_pair` (shape and finiteness checks,
float64 on the 0..255 scale) and then, where its convention asks for it, with one of the
colour conversions below. All conversions compute in float64.

Conventions:

* :func:`rgb_to_y_bt601` is BasicSR's ``bgr2ycbcr(..., y_only=True)`` luma,
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B in [0, 1], giving Y in
  16..235. It is **not** rounded (BasicSR keeps it as float).
* :func:`rgb_to_grey_matlab` is MATLAB's ``rgb2gray``: weights 0.298936021293775,
  0.587043074451121, 0.114020904255103 (the first row of the inverse NTSC matrix);
  on uint8 images MATLAB returns uint8, i.e. the value rounded half away from zero and
  saturated to 0..255 (``round_=True``).
"""

from __future__ import annotations

import numpy as np

from lode_bench.errors import LodeBenchError, ShapeMismatchError

#: MATLAB ``rgb2gray`` weights (first row of ``inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703])``).
MATLAB_GREY_WEIGHTS: tuple[float, float, float] = (
    0.298936021293775,
    0.587043074451121,
    0.114020904255103,
)

#: BT.601 luma weights used by BasicSR on RGB in [0, 1] (result in 16..235 after +16).
BT601_Y_WEIGHTS: tuple[float, float, float] = (65.481, 128.553, 24.966)


class MetricInputError(LodeBenchError):
    """A metric input is unusable: wrong rank, NaN/inf values, bad range or parameter."""


def check_image(img: np.ndarray, *, name: str = "image", allow_grey: bool = True) -> np.ndarray:
    """Validate one metric input and return it as an ndarray.

    Args:
        img: H×W×3 RGB (or H×W grey when ``allow_grey``) array, integer or float.
        name: how the array is named in error messages.
        allow_grey: accept H×W (and H×W×1, squeezed) arrays.

    Returns:
        The array (H×W×1 squeezed to H×W), not copied.

    Raises:
        MetricInputError: wrong rank/channel count, empty, complex/bool/object dtype, or
            NaN/inf values.
    """
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2 and not allow_grey:
        raise MetricInputError(f"{name}: expected an H×W×3 RGB image, got a grey H×W array")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise MetricInputError(f"{name}: expected H×W×3 RGB or H×W grey, got shape {arr.shape}")
    if arr.size == 0:
        raise MetricInputError(f"{name}: image is empty (shape {arr.shape})")
    if arr.dtype.kind not in "uif":
        raise MetricInputError(f"{name}: unsupported dtype {arr.dtype} (need integer or float)")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MetricInputError(f"{name}: contains NaN or infinite values")
    return arr


def check_same_shape(pred: np.ndarray, target: np.ndarray) -> None:
    """Raise :class:`ShapeMismatchError` naming both shapes when they differ."""
    if pred.shape != target.shape:
        raise ShapeMismatchError(
            f"prediction shape {pred.shape} differs from target shape {target.shape}"
        )


def check_data_range(data_range: float) -> float:
    """Return ``data_range`` as float after checking it is finite and positive."""
    dr = float(data_range)
    if not np.isfinite(dr) or dr <= 0:
        raise MetricInputError(f"data_range must be a positive finite number, got {data_range!r}")
    return dr


def to_float255(img: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """float64 copy of ``img`` rescaled from ``[0, data_range]`` to ``[0, 255]``.

    With ``data_range == 255`` the values are unchanged (exact).
    """
    x = np.asarray(img, dtype=np.float64)
    if data_range != 255.0:
        x = x * (255.0 / data_range)
    return x


def validate_pair(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    allow_grey: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Check a (prediction, target) pair without converting it.

    Returns:
        ``(pred, target, scale)`` with the arrays as given (H×W×1 squeezed) and
        ``scale = 255 / data_range``, the factor that maps them to 0..255.

    Raises:
        ShapeMismatchError: shapes differ.
        MetricInputError: bad rank, dtype, NaN/inf or data_range.
    """
    dr = check_data_range(data_range)
    p = check_image(pred, name="prediction", allow_grey=allow_grey)
    t = check_image(target, name="target", allow_grey=allow_grey)
    check_same_shape(p, t)
    return p, t, 255.0 / dr


def prepare_pair(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    allow_grey: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Check a (prediction, target) pair and return float64 copies on the 0..255 scale.

    Args:
        pred: H×W×3 (or H×W) prediction, values in ``[0, data_range]``.
        target: same shape as ``pred``.
        data_range: the value of full white in the inputs (255 for uint8, 1 for [0, 1]).
        allow_grey: accept H×W arrays.

    Returns:
        ``(pred255, target255)``: float64 arrays of the input shape scaled to 0..255.

    Raises:
        ShapeMismatchError: shapes differ.
        MetricInputError: bad rank, dtype, NaN/inf or data_range.
    """
    p, t, _ = validate_pair(pred, target, data_range=data_range, allow_grey=allow_grey)
    return to_float255(p, data_range), to_float255(t, data_range)


def rgb_to_y_bt601(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image on the 0..255 scale, as BasicSR computes it.

    Args:
        img: H×W×3 RGB, uint8 or float in 0..255.

    Returns:
        float64 H×W array ``16 + (65.481 R + 128.553 G + 24.966 B) / 255`` with R, G, B
        in 0..255, i.e. Y in 16..235 for inputs in range. Not rounded.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise MetricInputError(f"rgb_to_y_bt601 needs an H×W×3 RGB image, got shape {x.shape}")
    wr, wg, wb = (w / 255.0 for w in BT601_Y_WEIGHTS)
    return 16.0 + (wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2])


def rgb_to_grey_matlab(img: np.ndarray, round_: bool = True) -> np.ndarray:
    """MATLAB ``rgb2gray`` of an RGB image on the 0..255 scale.

    Args:
        img: H×W×3 RGB, uint8 or float in 0..255.
        round_: round like MATLAB's uint8 output (half away from zero, saturated to
            0..255). Use ``False`` for MATLAB's behaviour on double input (no rounding).

    Returns:
        float64 H×W grey image.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise MetricInputError(f"rgb_to_grey_matlab needs an H×W×3 RGB image, got shape {x.shape}")
    wr, wg, wb = MATLAB_GREY_WEIGHTS
    grey = wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2]
    if round_:
        # Inputs are non-negative after saturation, so floor(v + 0.5) is MATLAB's round.
        grey = np.floor(np.clip(grey, 0.0, 255.0) + 0.5)
    return grey


def to_channel_space(img255: np.ndarray, colour: str) -> np.ndarray:
    """Convert a float64 0..255 image to the colour space a metric is computed in.

    Args:
        img255: H×W×3 or H×W float64 on the 0..255 scale.
        colour: ``"rgb"`` (unchanged), ``"y"`` (BT.601 luma, float) or ``"grey"``
            (MATLAB ``rgb2gray``, rounded).

    Returns:
        H×W×3 for ``"rgb"`` on RGB input, otherwise H×W.
    """
    if colour == "rgb":
        return img255
    if img255.ndim == 2:
        return img255  # already single-channel: nothing to convert
    if colour == "y":
        return rgb_to_y_bt601(img255)
    if colour == "grey":
        return rgb_to_grey_matlab(img255, round_=True)
    raise MetricInputError(f"unknown colour {colour!r}; choose 'rgb', 'y' or 'grey'")


def crop_borders(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels on each side (BasicSR ``crop_border``)."""
    c = int(crop_border)
    if c < 0:
        raise MetricInputError(f"crop_border must be >= 0, got {crop_border}")
    if c == 0:
        return img
    h, w = img.shape[:2]
    if 2 * c >= h or 2 * c >= w:
        raise MetricInputError(f"crop_border={c} leaves nothing of a {h}×{w} image")
    return img[c:-c, c:-c, ...]
