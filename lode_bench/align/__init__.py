"""Alignment of captured blurry/sharp pairs: geometry, photometry, centroid, masks, QC.

Main entry points: :func:`align_pair` (one pair in memory), :func:`align_dataset`
(a folder of pairs to an aligned dataset with ``qc.csv`` and ``qc_overview.png``) and
the ``lode-bench align`` command (:data:`lode_bench.cli.align.align_command`).
"""

from lode_bench.align.centroid import centroid_align, estimate_kernel, kernel_centroid
from lode_bench.align.dataset import AlignReport, align_dataset
from lode_bench.align.errors import AlignmentError
from lode_bench.align.geometric import (
    GeometricConfig,
    GeometricResult,
    align_masked,
    ecc_refine,
    estimate_warp,
)
from lode_bench.align.masks import MaskConfig, blur_mask
from lode_bench.align.pairs import Pair, PairingError, PairSet, find_pairs
from lode_bench.align.photometric import PhotometricConfig, PhotometricMap, fit_photometric
from lode_bench.align.pipeline import AlignConfig, AlignedPair, align_pair
from lode_bench.align.qc import QCRecord, QCThresholds
from lode_bench.align.simulate import SimulatedPair, simulate_pair
from lode_bench.align.transforms import corner_errors, warp_to_template

__all__ = [
    "AlignConfig",
    "AlignReport",
    "AlignedPair",
    "AlignmentError",
    "GeometricConfig",
    "GeometricResult",
    "MaskConfig",
    "Pair",
    "PairSet",
    "PairingError",
    "PhotometricConfig",
    "PhotometricMap",
    "QCRecord",
    "QCThresholds",
    "SimulatedPair",
    "align_dataset",
    "align_masked",
    "align_pair",
    "blur_mask",
    "centroid_align",
    "corner_errors",
    "ecc_refine",
    "estimate_kernel",
    "estimate_warp",
    "find_pairs",
    "fit_photometric",
    "kernel_centroid",
    "simulate_pair",
    "warp_to_template",
]
