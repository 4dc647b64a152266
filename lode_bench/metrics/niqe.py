"""NIQE no-reference metrics (PROTOCOLS §4.3b): model files, the two conventions, fitting.

Two conventions share the feature arithmetic of :mod:`lode_bench.metrics.niqe_core` and
differ in the pristine model they are compared with:

* ``niqe`` — the LIVE release (Mittal et al.): its ``modelparameters.mat``
  (``mu_prisparam`` 1×36, ``cov_prisparam`` 36×36), also shipped by BasicSR as
  ``niqe_pris_params.npz`` (``mu_pris_param``, ``cov_pris_param``).
* ``niqe_matlab`` — MATLAB's built-in ``niqe()``: MATLAB ships its own default model,
  which lode-bench does not have and cannot derive. Export it from MATLAB once
  (``m = niqeModel; load`` its ``Mean``/``Covariance``, or use IQA-PyTorch's
  ``niqe_matlab_params.mat``) and point lode-bench at the file.

Model files are never downloaded. Each is looked up, in order, from the ``model_file``
argument, the convention's environment variable (``LODE_BENCH_NIQE_MODEL``,
``LODE_BENCH_NIQE_MATLAB_MODEL``), then the no-reference weights folder
(:func:`nr_weights_dir`) under the names in :data:`MODEL_FILE_NAMES`. A missing file
raises :class:`NIQEModelMissing` naming the file and the folder.

Input rule: H×W×3 RGB (or H×W grey) on ``[0, data_range]``; RGB goes through MATLAB
``rgb2gray`` and is rounded like MATLAB's uint8 result (the release reads 8-bit files);
images are cropped to whole 96×96 blocks; lower is better.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.metrics.colour import check_data_range, check_image, rgb_to_grey_matlab
from lode_bench.metrics.niqe_core import (
    DEFAULT_BLOCK,
    gaussian_window,
    niqe_distance,
    niqe_features,
)

#: Folder for no-reference model files and weights (NIQE models, pyiqa checkpoints).
WEIGHTS_ENV = "LODE_BENCH_NRIQA_WEIGHTS"
#: Per-convention environment variables naming a model file directly.
MODEL_ENV: dict[str, str] = {
    "live": "LODE_BENCH_NIQE_MODEL",
    "matlab": "LODE_BENCH_NIQE_MATLAB_MODEL",
}
#: File names searched in the weights folder, per convention, in order.
MODEL_FILE_NAMES: dict[str, tuple[str, ...]] = {
    "live": ("modelparameters.mat", "niqe_pris_params.npz", "niqe_modelparameters.mat"),
    "matlab": ("niqe_matlab_params.mat", "niqe_matlab_model.mat"),
}
N_FEATURES = 36


class NIQEModelError(LodeBenchError):
    """A NIQE model file is unreadable or has the wrong content."""


class NIQEModelMissing(NIQEModelError):
    """No NIQE model file where lode-bench looks for one."""


def nr_weights_dir() -> Path:
    """The no-reference weights folder: ``$LODE_BENCH_NRIQA_WEIGHTS`` or ``~/.cache/lode-bench/nriqa``."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lode-bench" / "nriqa"


@dataclass(frozen=True)
class NIQEModel:
    """A pristine multivariate Gaussian: ``mu`` (36,), ``cov`` (36×36), and where it came from."""

    mu: np.ndarray
    cov: np.ndarray
    source: str = ""
    block: int = DEFAULT_BLOCK

    def save(self, path: str | Path) -> Path:
        """Write the model atomically: ``.npz`` (BasicSR layout) or ``.mat`` (LIVE layout)."""
        from lode_bench.io.atomic import atomic_write_bytes

        path = Path(path)
        buf = io.BytesIO()
        if path.suffix.lower() == ".mat":
            import scipy.io

            scipy.io.savemat(
                buf,
                {
                    "mu_prisparam": self.mu[None, :],
                    "cov_prisparam": self.cov,
                    "block_size": np.array([[self.block]]),
                },
            )
        elif path.suffix.lower() == ".npz":
            np.savez(
                buf,
                mu_pris_param=self.mu[None, :],
                cov_pris_param=self.cov,
                gaussian_window=gaussian_window(),
                block_size=np.array(self.block),
            )
        else:
            raise NIQEModelError(f"{path}: NIQE model files must end in .npz or .mat")
        return atomic_write_bytes(path, buf.getvalue())


_KEYS = (
    ("mu_prisparam", "cov_prisparam"),
    ("mu_pris_param", "cov_pris_param"),
    ("Mean", "Covariance"),
)


def read_niqe_model(path: str | Path) -> NIQEModel:
    """Read a NIQE model from ``.mat`` (``mu_prisparam``/``cov_prisparam`` or ``Mean``/``Covariance``)
    or ``.npz`` (``mu_pris_param``/``cov_pris_param``).

    Raises:
        NIQEModelMissing: the file does not exist.
        NIQEModelError: unreadable, wrong keys, wrong shapes or non-finite values.
    """
    p = Path(path)
    if not p.is_file():
        raise NIQEModelMissing(f"{p}: NIQE model file not found")
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                data: dict[str, Any] = {k: z[k] for k in z.files}
        else:
            import scipy.io

            data = scipy.io.loadmat(p)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file
        raise NIQEModelError(f"{p}: cannot read NIQE model ({type(exc).__name__}: {exc})") from exc
    for mk, ck in _KEYS:
        if mk in data and ck in data:
            mu = np.asarray(data[mk], dtype=np.float64).ravel()
            cov = np.asarray(data[ck], dtype=np.float64)
            break
    else:
        raise NIQEModelError(
            f"{p}: no NIQE model variables (expected mu_prisparam/cov_prisparam, "
            f"mu_pris_param/cov_pris_param or Mean/Covariance; found {sorted(data)})"
        )
    if mu.shape != (N_FEATURES,) or cov.shape != (N_FEATURES, N_FEATURES):
        raise NIQEModelError(
            f"{p}: NIQE model must have a 36-vector mean and a 36×36 covariance, "
            f"got {mu.shape} and {cov.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
        raise NIQEModelError(f"{p}: NIQE model contains NaN or infinite values")
    block = int(np.asarray(data.get("block_size", DEFAULT_BLOCK)).ravel()[0])
    return NIQEModel(mu=mu, cov=cov, source=str(p), block=block)


def find_niqe_model(
    convention: str = "live", model_file: str | os.PathLike[str] | None = None
) -> Path:
    """The model file of ``convention`` (``"live"`` or ``"matlab"``), never downloaded.

    Raises:
        NIQEModelMissing: naming the expected file names and the folder to put them in.
    """
    if convention not in MODEL_ENV:
        raise LodeBenchError(f"unknown NIQE convention {convention!r}; choose 'live' or 'matlab'")
    env = MODEL_ENV[convention]
    explicit = model_file if model_file is not None else os.environ.get(env)
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            src = "model_file" if model_file is not None else env
            raise NIQEModelMissing(f"NIQE model file given by {src} not found: {p}")
        return p
    folder = nr_weights_dir()
    for name in MODEL_FILE_NAMES[convention]:
        if (folder / name).is_file():
            return folder / name
    names = " or ".join(MODEL_FILE_NAMES[convention])
    what = (
        "the LIVE release's modelparameters.mat (or BasicSR's niqe_pris_params.npz)"
        if convention == "live"
        else "MATLAB's built-in niqe() default model, exported from MATLAB (Mean/Covariance), "
        "which lode-bench does not ship"
    )
    raise NIQEModelMissing(
        f"NIQE ({convention}) needs {what}: put {names} into {folder} (or set {WEIGHTS_ENV}=DIR), "
        f"or set {env}=FILE, or pass model_file=FILE; lode-bench never downloads it"
    )


@functools.lru_cache(maxsize=8)
def _cached_model(path: str, mtime_ns: int, size: int) -> NIQEModel:
    return read_niqe_model(path)


def load_niqe_model(
    convention: str = "live", model_file: str | os.PathLike[str] | None = None
) -> NIQEModel:
    """Find and read (cached per file version) the model of ``convention``."""
    p = find_niqe_model(convention, model_file)
    st = p.stat()
    return _cached_model(str(p.resolve()), st.st_mtime_ns, st.st_size)


def to_grey255(img: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """H×W×3 RGB or H×W grey on ``[0, data_range]`` → rounded MATLAB grey, float64 0..255."""
    arr = check_image(img, name="image")
    x = np.asarray(arr, dtype=np.float64) * (255.0 / check_data_range(data_range))
    if x.ndim == 3:
        return rgb_to_grey_matlab(x, round_=True)
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5)


def niqe_score(img: np.ndarray, model: NIQEModel) -> float:
    """NIQE of one image against an explicit model (lower is better)."""
    feats, _ = niqe_features(to_grey255(img), block=model.block)
    return niqe_distance(feats, model.mu, model.cov)


def niqe(
    pred: np.ndarray,
    *,
    convention: str = "live",
    model_file: str | None = None,
    data_range: float = 255.0,
) -> float:
    """Registered NIQE metric (no reference): ``pred`` H×W×3 RGB on ``[0, data_range]``.

    Args:
        pred: image to rate.
        convention: ``"live"`` (LIVE release model) or ``"matlab"`` (MATLAB's default model).
        model_file: model path (default: environment variable, then the weights folder).
        data_range: value of white in ``pred``.
    """
    grey = to_grey255(pred, data_range)
    model = load_niqe_model(convention, model_file)
    feats, _ = niqe_features(grey, block=model.block)
    return niqe_distance(feats, model.mu, model.cov)


def check_niqe_model(
    *, convention: str = "live", model_file: str | None = None, data_range: float = 255.0
) -> None:
    """Raise :class:`NIQEModelMissing` / :class:`NIQEModelError` when the model is unusable."""
    load_niqe_model(convention, model_file)


def fit_niqe_model(
    images: Iterable[np.ndarray],
    *,
    sharpness_threshold: float = 0.75,
    block: int = DEFAULT_BLOCK,
    source: str = "",
) -> NIQEModel:
    """Fit a pristine model from sharp images (LIVE ``estimatemodelparam``).

    Per image, blocks whose mean local σ exceeds ``sharpness_threshold`` × that image's
    sharpest block are kept; the kept blocks' features of all images give
    ``nanmean``/``nancov``.

    Args:
        images: H×W×3 uint8 RGB (or grey) images, each at least ``block``×``block``.
        sharpness_threshold: fraction of the sharpest block (the release uses 0.75).
        block: block side (96 in the release).
        source: recorded as the model's origin.

    Raises:
        NIQEModelError: fewer than 37 kept blocks in total (the covariance would be singular).
    """
    from lode_bench.metrics.niqe_core import nan_mean_cov

    if not 0.0 <= sharpness_threshold < 1.0:
        raise NIQEModelError(f"sharpness_threshold must be in [0, 1), got {sharpness_threshold}")
    kept = []
    for img in images:
        feats, sharp = niqe_features(to_grey255(img), block=block)
        kept.append(feats[sharp > sharpness_threshold * np.max(sharp)])
    allf = np.concatenate(kept, axis=0) if kept else np.empty((0, N_FEATURES))
    if allf.shape[0] <= N_FEATURES:
        raise NIQEModelError(
            f"fitting a NIQE model needs more than {N_FEATURES} sharp blocks, got {allf.shape[0]} "
            f"from {len(kept)} image(s); add images (each gives about H·W/{block}² blocks)"
        )
    mu, cov = nan_mean_cov(allf)
    return NIQEModel(mu=mu, cov=cov, source=source, block=block)
