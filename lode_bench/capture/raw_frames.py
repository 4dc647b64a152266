"""A folder of RAW/DNG frames (a burst or a RAW video) as a frame source of linear RGB.

Frames are decoded by :func:`lode_bench.io.raw.read_raw` (optional extra ``raw``) into
float32 linear RGB in [0, 1], so a recipe averages them in the sensor's linear light
with no camera response curve; outputs are encoded with the sRGB curve. The colour
path and LibRaw's levels, white balance and colour matrix of the first frame are
recorded (:attr:`RawFolderFrameSource.raw_meta`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.capture.frames import DEFAULT_FPS, FrameInfo, FrameSource, FrameSourceError
from lode_bench.io.raw import RAW_EXTENSIONS, colour_path, read_raw


def list_raw_files(folder: str | Path) -> list[Path]:
    """RAW/DNG files directly in ``folder``, sorted by name."""
    f = Path(folder)
    if not f.is_dir():
        return []
    return sorted(p for p in f.iterdir() if p.is_file() and p.suffix.lower() in RAW_EXTENSIONS)


class RawFolderFrameSource(FrameSource):
    """RAW/DNG files in a folder, ordered by name, decoded to float32 linear RGB.

    Args:
        folder: the folder.
        fps: frame rate of the burst (default 240).
        colour: ``"srgb"`` (camera matrix applied) or ``"camera"`` RGB.
        white_balance: ``"camera"``, ``"none"`` or (R, G, B) multipliers.
        demosaic: LibRaw demosaicing algorithm (see :data:`lode_bench.io.raw.DEMOSAIC`).

    Raises:
        FrameSourceError: the folder is missing or holds no RAW file.
    """

    linear = True

    def __init__(
        self,
        folder: str | Path,
        *,
        fps: float | None = None,
        colour: str = "srgb",
        white_balance: Any = "camera",
        demosaic: str = "ahd",
    ) -> None:
        self.folder = Path(folder)
        self.files = list_raw_files(self.folder)
        if not self.files:
            raise FrameSourceError(f"{self.folder}: no RAW/DNG files ({', '.join(RAW_EXTENSIONS)})")
        self.name = self.folder.name
        self.fps = float(fps) if fps is not None else DEFAULT_FPS
        if not self.fps > 0:
            raise FrameSourceError(f"{self.folder}: frame rate must be > 0, got {self.fps}")
        self.options = {"colour": colour, "white_balance": white_balance, "demosaic": demosaic}
        self._depth = "linear"
        self.raw_meta: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def info(self, index: int) -> FrameInfo:
        self._check_index(index)
        return FrameInfo(index, index / self.fps, str(self.files[index]))

    @property
    def colour_path(self) -> str:
        return colour_path(
            str(self.options["colour"]),
            self.options["white_balance"],
            str(self.options["demosaic"]),
        )

    def _read(self, index: int) -> np.ndarray:
        img = read_raw(self.files[index], **self.options)
        if self.raw_meta is None:
            self.raw_meta = img.meta
        return img.linear
