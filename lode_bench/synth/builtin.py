"""A built-in high-frame-rate scene rendered from photographs that scikit-image ships.

No download is needed: the photographs (astronaut, coffee, chelsea, rocket, the
motorcycle stereo view, the scikit-image logo, the horse silhouette) are
part of the scikit-image wheel.

* Global blur: a virtual camera translates smoothly over a photograph. Each frame
  samples the photograph (in the response's linear space) at a sub-pixel offset with
  exact float64 bilinear interpolation, then is quantised to 8 bits. Offsets are given
  relative to the frame that will be the sharp target, so the blur kernel of a window
  is known exactly (:func:`lode_bench.synth.kernels.translation_psf`).
* Local blur: objects cut from one photograph (elliptical cut-outs with feathered
  alpha, the scikit-image logo cut off its white ground, a horse-shaped cut-out) move
  over another photograph seen by a static camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import skimage.data as skdata

from lode_bench.capture.frames import FrameSource
from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError
from lode_bench.synth.averaging import quantize
from lode_bench.synth.local_objects import ObjectMotion, ObjectSceneRenderer

PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")
BACKGROUNDS: tuple[str, ...] = ("rocket", "motorcycle", "coffee", "astronaut")
# (photo, centre x, centre y, half-axis x, half-axis y) in the photo's own pixels
_ELLIPSE_CUTS: tuple[tuple[str, int, int, int, int], ...] = (
    ("chelsea", 244, 143, 165, 140),  # the cat's head
    ("coffee", 274, 205, 200, 170),  # cup and saucer
    ("astronaut", 222, 96, 78, 94),  # the astronaut's face
    ("astronaut", 393, 440, 112, 76),  # the helmet
)


def builtin_photo(name: str) -> np.ndarray:
    """One of :data:`PHOTOS` as H×W×3 uint8 RGB."""
    if name == "motorcycle":
        return np.ascontiguousarray(skdata.stereo_motorcycle()[0])
    if name not in PHOTOS:
        raise ConfigError(f"unknown built-in photo {name!r}; choose from {PHOTOS}")
    return np.ascontiguousarray(getattr(skdata, name)())


def fit_photo(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (area filter) and centre-crop a photo so it covers ``size`` = (H, W) exactly."""
    h, w = size
    ph, pw = photo.shape[:2]
    s = max(h / ph, w / pw)
    nh, nw = max(h, int(np.ceil(ph * s))), max(w, int(np.ceil(pw * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    r = cv2.resize(photo, (nw, nh), interpolation=interp)
    y0, x0 = (nh - h) // 2, (nw - w) // 2
    return np.ascontiguousarray(r[y0 : y0 + h, x0 : x0 + w])


def _feathered_ellipse(
    h: int, w: int, cx: float, cy: float, ax: float, ay: float, sigma: float
) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    inside = (((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0).astype(np.float64)
    return np.clip(cv2.GaussianBlur(inside, (0, 0), sigma), 0, 1) * inside


def builtin_objects() -> list[tuple[str, np.ndarray]]:
    """Cut-out objects with alpha: (name, H×W×4 float32 straight RGBA in [0, 1])."""
    objs: list[tuple[str, np.ndarray]] = []
    for photo, cx, cy, ax, ay in _ELLIPSE_CUTS:
        img = builtin_photo(photo)
        x0, x1 = max(0, cx - ax), min(img.shape[1], cx + ax)
        y0, y1 = max(0, cy - ay), min(img.shape[0], cy + ay)
        crop = img[y0:y1, x0:x1].astype(np.float32) / 255.0
        a = _feathered_ellipse(y1 - y0, x1 - x0, cx - x0, cy - y0, ax, ay, sigma=2.0)
        objs.append((f"{photo}@{cx},{cy}", np.dstack([crop, a.astype(np.float32)])))
    logo = skdata.logo()[..., :3]  # its stored alpha is opaque: cut the drawing off its white
    ink = (logo.min(axis=2) < 235).astype(np.uint8)
    ink = cv2.morphologyEx(
        ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    )
    la = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.0) * ink
    objs.append(("logo", np.dstack([logo.astype(np.float32) / 255.0, la])))
    horse = ~skdata.horse()  # True on the horse
    fur = fit_photo(builtin_photo("chelsea"), horse.shape).astype(np.float32) / 255.0
    ha = cv2.GaussianBlur(horse.astype(np.float32), (0, 0), 1.0) * horse
    objs.append(("horse", np.dstack([fur, ha])))
    return objs


def resize_object(obj: np.ndarray, longest: int) -> np.ndarray:
    """Scale an RGBA object so its longest side is ``longest`` px (premultiplied resampling)."""
    h, w = obj.shape[:2]
    s = longest / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    pm = obj.copy()
    pm[..., :3] *= pm[..., 3:4]
    r = cv2.resize(pm, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    a = np.clip(r[..., 3:4], 0, 1)
    rgb = np.where(a > 1e-6, r[..., :3] / np.maximum(a, 1e-6), 0.0)
    return np.dstack([np.clip(rgb, 0, 1), a]).astype(np.float32)


OFFSET_STEP = 2.0**-20  # camera offsets are multiples of this (px): exact in float64


def smooth_trajectory(
    rng: np.random.Generator,
    n_frames: int,
    *,
    speed: tuple[float, float] = (0.8, 2.5),
    wobble: float = 0.35,
    middle: int | None = None,
) -> np.ndarray:
    """Smooth camera offsets (n, 2) in px, exactly (0, 0) at ``middle`` (default the middle frame).

    Velocity = a random base velocity (magnitude in ``speed`` px/frame) plus a slow
    sinusoidal wobble; positions are its running sum, rounded to multiples of
    :data:`OFFSET_STEP`. Sines and cosines come from :mod:`math` (not numpy's SIMD loops,
    whose last bit changes with the numpy version and the CPU) and the speed is the drawn
    magnitude (no BLAS norm), so the offsets, and the kernels built from them, are the
    same bits on every supported numpy version and machine.
    """
    mid = n_frames // 2 if middle is None else middle
    ang = rng.uniform(0, 2 * np.pi)
    mag = rng.uniform(*speed)
    v0 = (mag * math.cos(ang), mag * math.sin(ang))
    period = rng.uniform(0.6, 1.5) * max(n_frames, 8)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    pos = np.zeros((n_frames, 2), dtype=np.float64)
    x = [0.0, 0.0]
    for t in range(1, n_frames):
        for c in range(2):
            wob = math.sin(2 * math.pi * (t - 1) / period + float(phase[c]))
            x[c] += v0[c] + wobble * mag * wob
        pos[t] = x
    pos = np.round(pos / OFFSET_STEP) * OFFSET_STEP
    return pos - pos[mid]


class TranslationRenderer:
    """Renders frame ``t`` of a camera translating over ``photo`` on demand.

    Sampling is exact float64 bilinear interpolation in the response's linear space;
    frame ``t`` shows the photo at ``x + origin + offsets[t]`` and is quantised to 8 bits.

    Args:
        photo: H0×W0×3 uint8, large enough for ``size`` plus the trajectory.
        size: output (H, W).
        offsets: (n, 2) (dx, dy) per frame.
        response: linear space in which sub-pixel sampling happens.

    Raises:
        ConfigError: the photo is too small for the view and its motion.
    """

    def __init__(
        self,
        photo: np.ndarray,
        size: tuple[int, int],
        offsets: np.ndarray,
        response: CameraResponse,
    ) -> None:
        h, w = size
        lo = np.floor(offsets.min(axis=0)).astype(int)
        hi = np.ceil(offsets.max(axis=0)).astype(int) + 1
        need_h, need_w = h + hi[1] - lo[1], w + hi[0] - lo[0]
        if photo.shape[0] < need_h or photo.shape[1] < need_w:
            raise ConfigError(
                f"photo {photo.shape[:2]} too small for a {size} view moving {hi - lo} px"
            )
        self.origin = (
            int((photo.shape[1] - need_w) // 2 - lo[0]),
            int((photo.shape[0] - need_h) // 2 - lo[1]),
        )
        self.size, self.offsets, self.response = size, offsets, response
        self.linear = response.to_linear(photo)

    def __len__(self) -> int:
        return len(self.offsets)

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as H×W×3 uint8."""
        (h, w), (x0, y0), lin = self.size, self.origin, self.linear
        dx, dy = self.offsets[t]
        fx, fy = int(np.floor(dx)), int(np.floor(dy))
        ax, ay = dx - fx, dy - fy
        ys, xs = y0 + fy, x0 + fx
        p00 = lin[ys : ys + h, xs : xs + w]
        p01 = lin[ys : ys + h, xs + 1 : xs + 1 + w]
        p10 = lin[ys + 1 : ys + 1 + h, xs : xs + w]
        p11 = lin[ys + 1 : ys + 1 + h, xs + 1 : xs + 1 + w]
        f = (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11)
        return quantize(self.response.from_linear(f))


def render_translation_frames(
    photo: np.ndarray,
    size: tuple[int, int],
    offsets: np.ndarray,
    response: CameraResponse,
) -> tuple[list[np.ndarray], tuple[int, int]]:
    """All frames of :class:`TranslationRenderer`, and the origin (x0, y0) of the zero-offset crop."""
    r = TranslationRenderer(photo, size, offsets, response)
    return [r.frame(t) for t in range(len(r))], r.origin


class PanFrameSource(FrameSource):
    """A frame source that renders camera-pan frames lazily (only the frames read)."""

    def __init__(self, renderer: TranslationRenderer, *, fps: float, name: str) -> None:
        self.renderer, self.fps, self.name = renderer, float(fps), name

    def __len__(self) -> int:
        return len(self.renderer)

    def _read(self, index: int) -> np.ndarray:
        return self.renderer.frame(index)


@dataclass
class GlobalClip:
    """A rendered camera-motion clip and what is known about it."""

    frames: list[np.ndarray]
    offsets: np.ndarray
    photo: str
    origin: tuple[int, int] = (0, 0)


def render_global_clip(
    rng: np.random.Generator,
    n_frames: int,
    size: tuple[int, int],
    response: CameraResponse,
    *,
    photo: str | None = None,
    speed: tuple[float, float] = (0.8, 2.5),
) -> GlobalClip:
    """A short clip of a camera panning over a built-in photo (offsets 0 at the middle frame)."""
    name = photo or str(rng.choice(PHOTOS))
    offsets = smooth_trajectory(rng, n_frames, speed=speed)
    span = np.ceil(offsets.max(axis=0) - offsets.min(axis=0)).astype(int) + 4
    big = fit_photo(builtin_photo(name), (size[0] + int(span[1]), size[1] + int(span[0])))
    frames, origin = render_translation_frames(big, size, offsets, response)
    return GlobalClip(frames=frames, offsets=offsets, photo=name, origin=origin)


def builtin_global_source(
    *,
    n_frames: int = 120,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    response: CameraResponse | None = None,
) -> FrameSource:
    """A 240 fps frame source: a camera panning over a built-in photograph (rendered lazily)."""
    rng = np.random.default_rng([seed, 101])
    name = str(rng.choice(PHOTOS))
    offsets = smooth_trajectory(rng, n_frames, speed=(0.5, 1.5))
    span = np.ceil(offsets.max(axis=0) - offsets.min(axis=0)).astype(int) + 4
    big = fit_photo(builtin_photo(name), (size[0] + int(span[1]), size[1] + int(span[0])))
    renderer = TranslationRenderer(big, size, offsets, response or CameraResponse("gamma", 2.2))
    return PanFrameSource(renderer, fps=240.0, name=f"builtin-pan-{name}")


@dataclass
class LocalClip:
    """A static-camera clip with moving objects, and the true per-frame coverage."""

    frames: list[np.ndarray]
    coverage: np.ndarray  # n×H×W bool
    background: str
    objects: list[str] = field(default_factory=list)


def builtin_local_clip(
    *,
    n_frames: int = 61,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    n_objects: int = 2,
    speed: float = 3.0,
    response: CameraResponse | None = None,
) -> LocalClip:
    """Static camera, objects moving at up to ``speed`` px/frame over a built-in background."""
    renderer, bg_name, names = _local_scene(seed, size, n_objects, speed, response)
    mid = n_frames // 2
    frames, cover = [], np.zeros((n_frames, *size), dtype=bool)
    for f in range(n_frames):
        frame, cover[f] = renderer.frame(float(f - mid))
        frames.append(frame)
    return LocalClip(frames=frames, coverage=cover, background=bg_name, objects=names)


def _local_scene(
    seed: int,
    size: tuple[int, int],
    n_objects: int,
    speed: float,
    response: CameraResponse | None,
) -> tuple[ObjectSceneRenderer, str, list[str]]:
    rng = np.random.default_rng([seed, 202])
    resp = response or CameraResponse("gamma", 2.2)
    bg_name = str(rng.choice(BACKGROUNDS))
    bg = fit_photo(builtin_photo(bg_name), size)
    lib = [o for o in builtin_objects() if not o[0].startswith(bg_name)]
    picks = rng.choice(len(lib), size=n_objects, replace=False)
    objs, motions, names = [], [], []
    for k in picks:
        name, obj = lib[int(k)]
        objs.append(resize_object(obj, int(min(size) * rng.uniform(0.25, 0.4))))
        ang = rng.uniform(0, 2 * np.pi)
        sp = rng.uniform(0.5, 1.0) * speed
        motions.append(
            ObjectMotion(
                cx=float(rng.uniform(0.3, 0.7) * size[1]),
                cy=float(rng.uniform(0.3, 0.7) * size[0]),
                vx=float(sp * np.cos(ang)),
                vy=float(sp * np.sin(ang)),
                rot_rate_deg=float(rng.uniform(-0.3, 0.3)),
            )
        )
        names.append(name)
    return ObjectSceneRenderer(bg, objs, motions, resp), bg_name, names


class SceneFrameSource(FrameSource):
    """Frames of an :class:`ObjectSceneRenderer`, rendered lazily; time 0 at the middle frame."""

    def __init__(self, renderer: ObjectSceneRenderer, n_frames: int, *, fps: float, name: str):
        self.renderer, self.n, self.fps, self.name = renderer, n_frames, float(fps), name

    def __len__(self) -> int:
        return self.n

    def _read(self, index: int) -> np.ndarray:
        return self.renderer.frame(float(index - self.n // 2))[0]


def builtin_local_source(
    *,
    n_frames: int = 61,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    response: CameraResponse | None = None,
) -> FrameSource:
    """Frames of :func:`builtin_local_clip`, rendered lazily (for ``local-real`` recipes)."""
    renderer, bg_name, _ = _local_scene(seed, size, 2, 3.0, response)
    return SceneFrameSource(renderer, n_frames, fps=240.0, name=f"builtin-static-{bg_name}")
