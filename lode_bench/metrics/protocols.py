"""Named, versioned scoring protocols: one name reproduces one paper convention.

A :class:`Protocol` bundles metric calls (column name, registered metric, parameters), the
quantisation rule (clamp and round to 8 bits before scoring, as BasicSR, DeepDeblur and
Restormer do) and the mask rule. Scores of a dataset are the **mean of per-image scores**.

Bump ``version`` whenever a change could alter a number: stored results are keyed by
``(protocol, version)`` so old and new numbers never mix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.io.images import read_image, read_mask, to_uint8
from lode_bench.metrics.base import METRICS
from lode_bench.registry import DuplicateEntryError, Registry

MaskRule = Literal["none", "optional", "required"]
DEPTH16_TEXT = {
    "round": "16-bit files scored as round(v / 257)",
    "truncate": "16-bit files scored as v >> 8 (the reference's 8-bit loader)",
}


@dataclass(frozen=True)
class MetricCall:
    """One column of a protocol: ``column`` is filled by registered metric ``metric``.

    When the metric returns several values (``outputs``), ``pick`` names the one used;
    ``column=None`` keeps every output under its own name.
    """

    column: str
    metric: str
    params: Mapping[str, Any] = field(default_factory=dict)
    pick: str | None = None


@dataclass
class ImageScore:
    """Scores of one image under one protocol; ``errors`` maps a column (or ``"*"``) to why it failed."""

    image_id: str
    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    mask_coverage: float | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_message(self) -> str | None:
        if not self.errors:
            return None
        return "; ".join(f"{k}: {v}" if k != "*" else v for k, v in self.errors.items())


@dataclass(frozen=True)
class Protocol:
    """A named, versioned bundle of metric settings.

    Attributes:
        name: registry name (``gopro``, ``realblur``, ...).
        version: bumped whenever any number could change.
        description: what is computed, in one paragraph.
        reproduces: whose published numbers it reproduces.
        calls: the metric columns.
        quantize: clamp and round predictions to 8 bits before scoring.
        mask: whether a blur mask is needed (``required``), used when given
            (``optional``) or ignored (``none``).
        npy_mask_threshold: threshold for ``.npy`` masks (optical-flow magnitude, px).
        depth16: how 16-bit image files become the 8-bit values scored: ``"round"``
            (``round(v / 257)``, lode-bench's rule) or ``"truncate"`` (``v >> 8``, what
            the reproduced tool's ``cv2.imread`` / 8-bit loader gives for a 16-bit PNG).
            MATLAB scripts keep all 16 bits; no 8-bit rule reproduces them exactly.
        notes: caveats of the reproduction (shown by ``lode-bench ls protocols``).
        partial: compute the columns whose metric can run here (model files present)
            and report the others (see :meth:`available`) instead of failing every image.
    """

    name: str
    version: str
    description: str
    reproduces: str
    calls: tuple[MetricCall, ...]
    quantize: bool = True
    mask: MaskRule = "none"
    npy_mask_threshold: float = 0.25
    depth16: Literal["round", "truncate"] = "round"
    notes: str = ""
    partial: bool = False

    @property
    def needs_reference(self) -> bool:
        """True when any column is a full-reference metric (needs a ground truth)."""
        return any(not metric_spec(c.metric).no_reference for c in self.calls)

    @property
    def reference_columns(self) -> list[str]:
        return [c.column for c in self.calls if not metric_spec(c.metric).no_reference]

    def available(self) -> tuple[Protocol, dict[str, str]]:
        """The protocol restricted to the columns that can run here, and why the others cannot.

        Only ``partial`` protocols are restricted; the result's version carries the computed
        column set (``1+NIQE,BRISQUE``) so stored numbers of different subsets never mix.

        Raises:
            LodeBenchError: no column of a partial protocol can run (lists every reason).
        """
        if not self.partial:
            return self, {}
        missing: dict[str, str] = {}
        for c in self.calls:
            reason = metric_spec(c.metric).availability(**dict(c.params))
            if reason is not None:
                missing[c.column] = reason
        if not missing:
            return self, {}
        keep = tuple(c for c in self.calls if c.column not in missing)
        if not keep:
            why = "; ".join(f"{k}: {v}" for k, v in missing.items())
            raise LodeBenchError(
                f"protocol {self.name!r}: none of its metrics can run here ({why})"
            )
        sub = replace(
            self,
            calls=keep,
            version=f"{self.version}+{','.join(c.column for c in keep)}",
            description=self.description
            + " Not computed (files missing): "
            + ", ".join(missing)
            + ".",
        )
        return sub, missing

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c.column for c in self.calls]

    def higher_is_better(self, column: str) -> bool:
        for c in self.calls:
            if c.column == column:
                return metric_spec(c.metric).higher_is_better
        raise KeyError(column)

    def with_lpips(self, net: str = "alex", **params: Any) -> Protocol:
        """This protocol plus an LPIPS column (``LPIPS`` for alex, ``LPIPS-<net>`` otherwise).

        The version gains ``+lpips-<net>`` (id ``gopro@1+lpips-alex``), so that stored rows
        with and without the column never share a key."""
        column = "LPIPS" if net == "alex" else f"LPIPS-{net}"
        call = MetricCall(column, f"lpips_{net}", dict(params))
        return replace(
            self,
            calls=(*self.calls, call),
            version=f"{self.version}+lpips-{net}",
            description=self.description + f" Plus LPIPS ({net}, v0.1).",
        )

    def prepare(self, pred: np.ndarray, *, data_range: float = 255.0) -> np.ndarray:
        """Apply the protocol's quantisation to a model output (uint8 passes through).

        Raises:
            LodeBenchError: when the output contains NaN or infinite values.
        """
        if pred.dtype == np.uint8:
            return pred
        arr = np.asarray(pred, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise LodeBenchError("model output contains NaN or infinite values")
        if self.quantize:
            return to_uint8(arr, data_range=data_range)
        return arr * (255.0 / data_range)

    def read_image(self, path: str | Path) -> np.ndarray:
        """Read an image file as H×W×3 uint8 under this protocol's 16-bit rule (:attr:`depth16`)."""
        return read_image(path, dtype="uint8", depth16=self.depth16)

    def load_mask(self, path: str | Path) -> np.ndarray:
        """Read a mask file for this protocol (PNG ``> 0``; ``.npy`` ``> npy_mask_threshold``)."""
        p = Path(path)
        return read_mask(p, threshold=self.npy_mask_threshold if p.suffix.lower() == ".npy" else 0)

    def score(
        self,
        pred: np.ndarray,
        target: np.ndarray | None,
        *,
        mask: np.ndarray | None = None,
        image_id: str = "",
    ) -> ImageScore:
        """Score one image; every column it cannot fill gets an error, never a bare NaN.

        Metric failures (e.g. an ECC divergence) are recorded for every column that metric
        fills; a masked metric without a mask and an output the metric does not give are
        errors of their column too.

        Args:
            pred: H×W×3 output (uint8, or float in [0, 255] when ``quantize`` is False).
            target: H×W×3 uint8 ground truth; ``None`` for a blur-only sample, which only
                a protocol of no-reference metrics can score (NR columns rate ``pred`` alone).
            mask: H×W bool blur mask (required when ``mask == "required"``).
            image_id: identifier carried into the result.

        Raises:
            LodeBenchError: ``target`` is ``None`` and the protocol has full-reference columns.
        """
        result = ImageScore(image_id=image_id)
        if target is None:
            if self.needs_reference:
                raise LodeBenchError(no_reference_message(self, image_id or "sample"))
            target = pred
        if pred.shape != target.shape:
            raise ShapeMismatchError(
                f"{image_id}: output shape {pred.shape} differs from ground truth {target.shape}"
            )
        if self.mask == "required" and mask is None:
            raise LodeBenchError(f"{image_id}: protocol {self.name!r} needs a blur mask")
        if mask is not None:
            if mask.shape != target.shape[:2]:
                raise ShapeMismatchError(
                    f"{image_id}: mask shape {mask.shape} differs from image {target.shape[:2]}"
                )
            result.mask_coverage = float(np.mean(mask))
        # one computation per (metric, params); a failure is kept so that every column
        # picking from that metric records it, never a bare NaN
        cache: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, float] | str] = {}
        for call in self.calls:
            spec = metric_spec(call.metric)
            key = (call.metric, tuple(sorted(call.params.items())))
            if key not in cache:
                use_mask = mask if (spec.needs_mask or self.mask != "none") else None
                if spec.needs_mask and mask is None:
                    cache[key] = f"metric {spec.name!r} needs a blur mask and none was given"
                else:
                    try:
                        cache[key] = spec.compute(pred, target, mask=use_mask, **dict(call.params))
                    except LodeBenchError as exc:
                        cache[key] = str(exc)
            out = cache[key]
            name = call.pick or (spec.outputs[0] if spec.outputs else spec.name)
            if isinstance(out, str):
                result.values[call.column] = math.nan
                result.errors[call.column] = out
            elif name not in out:
                result.values[call.column] = math.nan
                result.errors[call.column] = (
                    f"metric {spec.name!r} gave no value {name!r} "
                    f"(it gave {', '.join(sorted(out)) or 'nothing'})"
                )
            else:
                result.values[call.column] = out[name]
        return result


def metric_spec(name: str) -> Any:
    """The registered metric ``name``; ``pyiqa:<name>`` registers any pyiqa NR metric on first use."""
    from lode_bench.errors import UnknownNameError

    try:
        return METRICS.get(name)
    except UnknownNameError:
        if not name.startswith("pyiqa:"):
            raise
        from lode_bench.metrics.nriqa import pyiqa_metric_spec

        spec = pyiqa_metric_spec(name.partition(":")[2])
        try:
            METRICS.register(spec.name, spec, lazy=False)
        except DuplicateEntryError:  # another thread registered it first
            return METRICS.get(spec.name)
        return spec


def no_reference_message(proto: Protocol, what: str) -> str:
    """Why a full-reference protocol cannot score a set without ground truth."""
    return (
        f"{what} has no ground truth (blur-only set); protocol {proto.name!r} is full-reference "
        f"({', '.join(proto.reference_columns)}); score it with a no-reference protocol such as "
        f"'nr-glow' or 'nr-niqe'"
    )


def _validate(obj: Any) -> None:
    if not isinstance(obj, Protocol):
        raise LodeBenchError(
            f"protocol registry entries must be Protocol, got {type(obj).__name__}"
        )


#: every protocol; the built-ins (:func:`builtin_protocols`) load on the first lookup.
PROTOCOLS: Registry[Protocol] = Registry(
    "protocol", builtins="lode_bench.metrics.protocols:builtin_protocols", validate=_validate
)


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name`` (``"name@version"`` checks the version).

    Raises:
        UnknownNameError: no protocol of that name (the message suggests close ones).
        LodeBenchError: the protocol exists at another version.

    Example:
        >>> proto = get_protocol("realblur")
        >>> proto.name, proto.columns
        ('realblur', ['PSNR', 'SSIM'])
        >>> get_protocol("gopro@1").mask
        'none'
        >>> get_protocol("gopro@9")
        Traceback (most recent call last):
        ...
        lode_bench.errors.LodeBenchError: protocol 'gopro' is at version 1, not 9
    """
    base, _, version = name.partition("@")
    proto = PROTOCOLS.get(base)
    if version and version != proto.version:
        raise LodeBenchError(f"protocol {base!r} is at version {proto.version}, not {version}")
    return proto


def list_protocols() -> list[Protocol]:
    """Every registered protocol (built-in and from plugins), sorted by name.

    Example:
        >>> names = [p.name for p in list_protocols()]
        >>> {"gopro", "realblur", "lode", "basicsr-y"} <= set(names)
        True
    """
    return [p for _, p in PROTOCOLS.items()]


_PSNR = MetricCall("PSNR", "psnr")
_OPENCV_NOTE = (
    "RealBlur-aligned numbers depend on the OpenCV version (ECC and the cubic "
    "warp: the official script's own per-image PSNR moves by ~0.01 dB between "
    "OpenCV 4.2, 4.5-4.12, 4.14 and 5.0); each run stores the OpenCV version "
    "in its provenance (packages.opencv)."
)
_GLOW_NR = (
    ("MANIQA", "maniqa"),
    ("LIQE", "liqe"),
    ("NRQM", "nrqm"),
    ("CLIP-IQA", "clipiqa"),
    ("PI", "pi"),
    ("BRISQUE", "brisque"),
    ("NIQE", "niqe"),
    ("ILNIQE", "ilniqe"),
)
_SSIM_GAUSS = MetricCall("SSIM", "ssim_gaussian")


def builtin_protocols() -> list[tuple[Protocol, tuple[str, ...]]]:
    """The built-in protocols with their aliases (the built-ins of :data:`PROTOCOLS`)."""
    return [
        (
            Protocol(
                name="gopro",
                version="1",
                description="PSNR on RGB (data range 255) and MATLAB's built-in ssim() on the "
                "H×W×3 uint8 image as a 3-D volume (11×11×11 Gaussian, σ=1.5, "
                "replicate padding, full map averaged). Outputs clamped and rounded to 8 bits.",
                reproduces="GoPro/HIDE tables of MPRNet, Restormer, NAFNet and most later papers "
                "(evaluate_GOPRO_HIDE.m); use the GoPro 'blur' track.",
                calls=(_PSNR, MetricCall("SSIM", "ssim_matlab_rgb")),
                notes="16-bit files: evaluate_GOPRO_HIDE.m (MATLAB) scores all 16 bits; lode-bench "
                "scores 8 bits, round(v/257) (the GoPro and HIDE test sets are 8-bit).",
            ),
            ("gopro-matlab", "hide"),
        ),
        (
            Protocol(
                name="deepdeblur",
                version="2",
                description="PSNR on RGB and per-channel Gaussian SSIM (11×11, σ=1.5, valid, "
                "population covariance), outputs rounded to 8 bits.",
                reproduces="DeepDeblur-PyTorch (GoPro 'blur_gamma' track: 30.40 dB / 0.9018).",
                calls=(_PSNR, _SSIM_GAUSS),
                depth16="truncate",
                notes="v2: 16-bit files truncated (v >> 8) as DeepDeblur's 8-bit loader does.",
            ),
            (),
        ),
        (
            Protocol(
                name="basicsr",
                version="2",
                description="BasicSR calculate_psnr/calculate_ssim on RGB (crop_border 0): PSNR "
                "on RGB and per-channel Gaussian SSIM averaged over channels.",
                reproduces="Upstream BasicSR's calculate_psnr/calculate_ssim (validation logs and "
                "tables of repositories using them). Not NAFNet's GoPro numbers: "
                "NAFNet's calculate_ssim defaults to ssim3d=True, the 3-D SSIM of "
                "the 'gopro' protocol.",
                calls=(_PSNR, _SSIM_GAUSS),
                depth16="truncate",
                notes="v2: 16-bit files truncated (v >> 8) as BasicSR's cv2.imdecode loader does.",
            ),
            (),
        ),
        (
            Protocol(
                name="basicsr-y",
                version="2",
                description="BasicSR with test_y_channel: BT.601 Y (16–235, float, not rounded), "
                "PSNR and Gaussian SSIM on Y, crop_border 0.",
                reproduces="BasicSR-based papers that report Y-channel numbers.",
                calls=(MetricCall("PSNR", "psnr_y"), MetricCall("SSIM", "ssim_gaussian_y")),
                depth16="truncate",
                notes="v2: 16-bit files truncated (v >> 8) as BasicSR's cv2.imdecode loader does.",
            ),
            ("basicsr_y",),
        ),
        (
            Protocol(
                name="realblur",
                version="2",
                description="RealBlur's aligned metrics per image: least-squares intensity gain, "
                "ECC homography registration onto the ground truth, PSNR and "
                "per-channel SSIM over the valid warped region (5 px SSIM crop). "
                "An ECC failure is recorded as an error for that image. Inputs enter "
                "as float32 values of uint8/255 like the official script's, so "
                "identical images give PSNR = inf (v1: ~157 dB).",
                reproduces="RealBlur-J/R tables (evaluate_RealBlur.py); also RSBlur.",
                calls=(
                    MetricCall("PSNR", "realblur_aligned", pick="aligned_psnr"),
                    MetricCall("SSIM", "realblur_aligned", pick="aligned_ssim"),
                ),
                depth16="truncate",
                notes=_OPENCV_NOTE,
            ),
            ("rsblur",),
        ),
        (
            Protocol(
                name="reloblur",
                version="2",
                description="ReLoBlur local-blur metrics: PSNR, per-channel Gaussian SSIM, "
                "masked PSNR_w and SSIM_w over the binary blur mask (> 0), and "
                "RealBlur-aligned PSNR (inf on identical images, as the official "
                "script; v1 gave ~157 dB).",
                reproduces="ReLoBlur / LBAG tables (Li et al. 2023).",
                calls=(
                    _PSNR,
                    _SSIM_GAUSS,
                    MetricCall("PSNR_w", "psnr_w"),
                    MetricCall("SSIM_w", "ssim_w"),
                    MetricCall("aligned_PSNR", "realblur_aligned_reloblur", pick="aligned_psnr"),
                ),
                mask="required",
                depth16="truncate",
                notes=_OPENCV_NOTE,
            ),
            (),
        ),
        (
            Protocol(
                name="lode",
                version="2",
                description="LODE local deblurring: PSNR and Gaussian SSIM on the whole image plus "
                "masked PSNR_w/SSIM_w over the blurred region, from a mask PNG (> 0) "
                "or a LODE optical-flow magnitude .npy (> 0.25 px).",
                reproduces="LODE/BladeNet test protocol with true masked metrics (not BladeNet's "
                "inflated local PSNR; see metric local_psnr_bladenet).",
                calls=(
                    _PSNR,
                    _SSIM_GAUSS,
                    MetricCall("PSNR_w", "psnr_w"),
                    MetricCall("SSIM_w", "ssim_w"),
                ),
                mask="required",
                depth16="truncate",
                notes="v2: 16-bit files truncated (v >> 8) as BladeNet's cv2.imread does.",
            ),
            ("local",),
        ),
        (
            Protocol(
                name="lode-legacy",
                version="2",
                description="As 'lode' plus BladeNet's legacy local PSNR (zeroes pixels outside the "
                "mask and averages over the whole image: inflated by 10·log10(1/coverage)).",
                reproduces="BladeNet paper's local PSNR column (not comparable to PSNR_w).",
                calls=(
                    _PSNR,
                    _SSIM_GAUSS,
                    MetricCall("PSNR_w", "psnr_w"),
                    MetricCall("SSIM_w", "ssim_w"),
                    MetricCall("local_PSNR_legacy", "local_psnr_bladenet"),
                ),
                mask="required",
                depth16="truncate",
                notes="v2: 16-bit files truncated (v >> 8) as BladeNet's cv2.imread does.",
            ),
            (),
        ),
        (
            Protocol(
                name="iqa",
                version="2",
                description="Reference IQA profile: PSNR on RGB, Wang et al.'s reference SSIM on "
                "rounded MATLAB grey (no downsampling) and Wang's MS-SSIM in its "
                "weighted-sum form (msssim.m method='wtd_sum'; v1 used the product "
                "form, up to 4.4e-3 lower on TID2013).",
                reproduces="IQA-PyTorch's published TID2013 PSNR, SSIM and MS-SSIM columns "
                "(to their 4 printed decimals).",
                calls=(
                    _PSNR,
                    MetricCall("SSIM", "ssim_wang"),
                    MetricCall("MS-SSIM", "ms_ssim_wtd_sum"),
                ),
                depth16="truncate",
                notes="16-bit files truncated (v >> 8) as IQA-PyTorch's 8-bit loader does "
                "(TID2013 itself is 8-bit).",
            ),
            (),
        ),
        (
            Protocol(
                name="nr-glow",
                version="1",
                description="The eight no-reference metrics of GLOWDeblur's table on the output alone: "
                "MANIQA, LIQE, NRQM, CLIP-IQA (higher is better), PI, BRISQUE, NIQE, "
                "ILNIQE (lower); NIQE native (LIVE model), the others through pyiqa. "
                "Columns whose model files are missing are listed as not computed.",
                reproduces="GLOWDeblur cross-dataset table, no-reference part (RWBI, RWBlur400).",
                calls=tuple(MetricCall(col, m) for col, m in _GLOW_NR),
                partial=True,
            ),
            ("nr", "glow-nr"),
        ),
        (
            Protocol(
                name="nr-niqe",
                version="1",
                description="NIQE (LIVE release convention, user-supplied pristine model) on the "
                "output alone; needs no optional package.",
                reproduces="NIQE columns of deblurring papers that use the LIVE release code.",
                calls=(MetricCall("NIQE", "niqe"),),
            ),
            (),
        ),
    ]
