"""Ingest of raw captures: frame sources, video extraction, camera response and its calibration."""

from lode_bench.capture.extract import extract_video_frames
from lode_bench.capture.frames import (
    ArrayFrameSource,
    FolderFrameSource,
    FrameInfo,
    FrameSource,
    FrameSourceError,
    VideoFrameSource,
    open_frame_source,
)
from lode_bench.capture.profiles import CameraProfile, list_profiles, load_profile, resolve_response
from lode_bench.capture.response import (
    CameraResponse,
    extrapolate_reds_table,
    load_inverse_crf_table,
    response_from_spec,
    save_inverse_crf_table,
)
from lode_bench.capture.robertson import (
    CalibrationError,
    CalibrationResult,
    CalibrationWarning,
    calibrate_crf,
    calibrate_inverse_crf,
)

__all__ = [
    "ArrayFrameSource",
    "CalibrationError",
    "CalibrationResult",
    "CalibrationWarning",
    "CameraProfile",
    "CameraResponse",
    "FolderFrameSource",
    "FrameInfo",
    "FrameSource",
    "FrameSourceError",
    "VideoFrameSource",
    "calibrate_crf",
    "calibrate_inverse_crf",
    "extract_video_frames",
    "extrapolate_reds_table",
    "list_profiles",
    "load_inverse_crf_table",
    "load_profile",
    "open_frame_source",
    "resolve_response",
    "response_from_spec",
    "save_inverse_crf_table",
]
