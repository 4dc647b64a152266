"""Every bad input to ``lode_bench.align`` raises one of the project's error types."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lode_bench.align.centroid import estimate_kernel
from lode_bench.align.errors import AlignmentError
from lode_bench.align.flow import optical_flow
from lode_bench.align.geometric import GeometricConfig
from lode_bench.align.masks import MaskConfig, blur_mask
from lode_bench.align.photometric import PhotometricConfig, fit_photometric
from lode_bench.align.pipeline import AlignConfig
from lode_bench.align.qc import masked_psnr
from lode_bench.align.simulate import simulate_pair
from lode_bench.align.transforms import cv_motion_flag, to_3x3
from lode_bench.errors import ConfigError, LodeBenchError, ShapeMismatchError

A = np.zeros((32, 32, 3), np.uint8)
B = np.zeros((32, 40, 3), np.uint8)

CASES: list[tuple[str, Callable[[], object], type[LodeBenchError]]] = [
    ("geometric motion", lambda: GeometricConfig(motion="spline"), ConfigError),  # type: ignore[arg-type]
    ("geometric iterations", lambda: GeometricConfig(iterations=0), ConfigError),
    ("mask method", lambda: MaskConfig(method="any"), ConfigError),  # type: ignore[arg-type]
    ("photometric method", lambda: PhotometricConfig(method="curve"), ConfigError),  # type: ignore[arg-type]
    ("align mode", lambda: AlignConfig(mode="all"), ConfigError),  # type: ignore[arg-type]
    ("kernel size", lambda: AlignConfig(kernel_size=4), ConfigError),
    ("motion flag", lambda: cv_motion_flag("spline"), ConfigError),
    ("warp shape", lambda: to_3x3(np.eye(2)), ShapeMismatchError),
    ("centroid sizes", lambda: estimate_kernel(A, B, size=9), ShapeMismatchError),
    ("centroid too small", lambda: estimate_kernel(A, A, size=65), AlignmentError),
    ("flow sizes", lambda: optical_flow(A, B), ShapeMismatchError),
    ("mask sizes", lambda: blur_mask(A, B), ShapeMismatchError),
    ("photometric sizes", lambda: fit_photometric(A, B), ShapeMismatchError),
    ("photometric pixels", lambda: fit_photometric(A, A, np.zeros((32, 32), bool)), AlignmentError),
    ("qc sizes", lambda: masked_psnr(A, B), ShapeMismatchError),
    ("scene too small", lambda: simulate_pair(A, (32, 32), np.random.default_rng(0)), ConfigError),
]


@pytest.mark.parametrize("what, call, error", CASES, ids=[c[0] for c in CASES])
def test_align_raises_project_errors(
    what: str, call: Callable[[], object], error: type[LodeBenchError]
) -> None:
    with pytest.raises(error) as exc:
        call()
    assert not isinstance(exc.value, ValueError), what
    assert str(exc.value)
