"""No-reference metrics through IQA-PyTorch (``pyiqa``), offline and behind lode-bench's contract.

``pip install 'lode-bench[nriqa]'`` installs pyiqa. lode-bench never lets it download:
while a pyiqa metric is built, pyiqa's download functions are replaced by a lookup in the
no-reference weights folder (``$LODE_BENCH_NRIQA_WEIGHTS``, default
``~/.cache/lode-bench/nriqa``; the ``weights_dir`` argument overrides it), under the file
name pyiqa would have downloaded (the last part of its URL). A missing file raises
:class:`NRWeightsMissing` naming the file and the folder; backbones that pyiqa takes from
the Hugging Face hub (timm) are looked up in the local hub cache only. Plain PyTorch
checkpoints are first checked with ``torch.load(..., weights_only=True)``; a file that
needs arbitrary unpickling is refused unless ``LODE_BENCH_NRIQA_TRUST_PICKLES=1``.

Argument conventions (what lode-bench passes; pyiqa then applies its own resize rules):

============  ===========  =======  ===================================================
metric        pyiqa name   better   what pyiqa does with the RGB [0, 1] input
============  ===========  =======  ===================================================
BRISQUE       ``brisque``  lower    Y (pyiqa ``to_y_channel``), full size and a MATLAB
                                    ``imresize`` 0.5 second scale, SVR on 36 features
ILNIQE        ``ilniqe``   lower    resized to 524×524 (MATLAB ``imresize``), IL-NIQE model
NRQM          ``nrqm``     higher   Y (YIQ), no resize, Ma et al.'s regression forests
PI            ``pi``       lower    ((10 − NRQM) + NIQE) / 2 with pyiqa's own NIQE
MANIQA        ``maniqa``   higher   ImageNet normalisation, 20 uniform 224×224 crops
                                    averaged (short side ≥ 224), KonIQ model
LIQE          ``liqe``     higher   CLIP normalisation, 224×224 patches at stride 32,
                                    15 kept (short side ≥ 224), KonIQ model
CLIP-IQA      ``clipiqa``  higher   CLIP RN50 at the image's own size, antonym prompts
MUSIQ         ``musiq``    higher   multi-scale: the image plus its resizes to longer
                                    side 224 and 384, KonIQ model
============  ===========  =======  ===================================================

Images reach pyiqa as float32 N×3×H×W RGB in [0, 1] (uint8 / 255); any other pyiqa NR
metric is available as ``pyiqa:<name>`` with the same input rule.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.metrics.colour import check_data_range, check_image
from lode_bench.metrics.niqe import WEIGHTS_ENV, nr_weights_dir

EXTRA = "lode-bench[nriqa]"
TRUST_ENV = "LODE_BENCH_NRIQA_TRUST_PICKLES"


class NRIQAExtraMissing(LodeBenchError):
    """The optional ``pyiqa`` package is not installed."""


class NRWeightsMissing(LodeBenchError):
    """A file that a pyiqa metric needs is not in the local weights folder."""


def import_pyiqa(metric: str = "") -> Any:
    """Import pyiqa or raise :class:`NRIQAExtraMissing` naming the extra."""
    try:
        import pyiqa
    except ImportError as exc:
        what = f"no-reference metric {metric!r}" if metric else "a pyiqa-backed metric"
        raise NRIQAExtraMissing(
            f"{what} needs IQA-PyTorch (pyiqa), which is not installed ({exc}): "
            f"pip install '{EXTRA}'"
        ) from exc
    return pyiqa


_state = threading.local()
_BUILD_LOCK = threading.RLock()


def _active() -> tuple[Path, str] | None:
    return getattr(_state, "active", None)


def _check_checkpoint(path: Path) -> None:
    if (
        path.suffix.lower() not in (".pth", ".pt", ".ckpt", ".bin")
        or os.environ.get(TRUST_ENV) == "1"
    ):
        return
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any refusal means "not a plain checkpoint"
        raise LodeBenchError(
            f"{path}: not loadable with torch.load(weights_only=True) ({type(exc).__name__}); "
            f"set {TRUST_ENV}=1 to trust the files in this folder"
        ) from exc


def _local_file(url: str, file_name: str | None = None) -> str:
    folder, metric = _active() or (nr_weights_dir(), "")
    name = file_name or os.path.basename(urlparse(url).path)
    path = folder / name
    if not path.is_file():
        raise NRWeightsMissing(
            f"{metric}: pyiqa needs the file {name}, which is not in {folder}; lode-bench never "
            f"downloads weights: copy {name} there (or set {WEIGHTS_ENV}=DIR)"
        )
    _check_checkpoint(path)
    return str(path)


def _guard_url(orig: Any) -> Any:
    @functools.wraps(orig)
    def guarded(
        url: str, model_dir: str | None = None, progress: bool = True, file_name: str | None = None
    ) -> str:
        if _active() is None:
            return orig(url, model_dir=model_dir, progress=progress, file_name=file_name)
        return _local_file(url, file_name)

    guarded.__lode_bench_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _guard_clip(orig: Any) -> Any:
    @functools.wraps(orig)
    def guarded(url: str, root: str | None = None, *a: Any, **k: Any) -> str:
        if _active() is None:
            return orig(url, root, *a, **k)
        folder, metric = _active()  # type: ignore[misc]
        name = os.path.basename(urlparse(url).path)
        if not (folder / name).is_file():
            raise NRWeightsMissing(
                f"{metric}: pyiqa needs the CLIP backbone file {name}, which is not in {folder}; "
                f"lode-bench never downloads weights: copy {name} there (or set {WEIGHTS_ENV}=DIR)"
            )
        return str(folder / name)

    guarded.__lode_bench_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _no_download(*args: Any, **kwargs: Any) -> None:
    folder, metric = _active() or (nr_weights_dir(), "")
    raise NRWeightsMissing(
        f"{metric}: pyiqa tried to download {args[0] if args else 'a file'}; "
        f"lode-bench never downloads weights: put the file into {folder}"
    )


def _install_guards() -> None:
    """Replace pyiqa's download functions (in every loaded pyiqa module) by local lookups."""
    import pyiqa.utils.download_util as du

    for mod in [m for n, m in list(sys.modules.items()) if n.startswith("pyiqa") and m is not None]:
        fn = getattr(mod, "load_file_from_url", None)
        if callable(fn) and not getattr(fn, "__lode_bench_guard__", False):
            mod.load_file_from_url = _guard_url(fn)  # type: ignore[attr-defined]
        fn = getattr(mod, "_download", None)
        if (
            mod.__name__.endswith("clip_model")
            and callable(fn)
            and not getattr(fn, "__lode_bench_guard__", False)
        ):
            mod._download = _guard_clip(fn)  # type: ignore[attr-defined]
    if _active() is not None:
        du.download_url_to_file = _no_download  # type: ignore[assignment]


@contextlib.contextmanager
def offline(folder: Path, metric: str) -> Iterator[None]:
    """Build pyiqa metrics with every file taken from ``folder`` (no network, no hub)."""
    import pyiqa.utils.download_util as du

    with _BUILD_LOCK:
        prev_dl = du.download_url_to_file
        _state.active = (folder, metric)
        hub_prev: list[tuple[Any, str, Any]] = []
        try:
            import huggingface_hub.constants as hfc

            hub_prev.append((hfc, "HF_HUB_OFFLINE", hfc.HF_HUB_OFFLINE))
            hfc.HF_HUB_OFFLINE = True
        except ImportError:  # pragma: no cover - pyiqa depends on huggingface_hub
            pass
        env_prev = os.environ.get("HF_HUB_OFFLINE")
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            with contextlib.suppress(ImportError):  # CLIP-based metrics only
                import pyiqa.archs.clip_model  # noqa: F401 - loaded so its downloader is guarded
            _install_guards()
            yield
        finally:
            _state.active = None
            du.download_url_to_file = prev_dl
            for obj, attr, val in hub_prev:
                setattr(obj, attr, val)
            if env_prev is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = env_prev


#: pyiqa metrics whose own checkpoint is loaded with ``strict=True`` over the whole network:
#: their timm backbone is built without ImageNet weights (which would only be overwritten).
FULL_CHECKPOINT = frozenset({"maniqa", "maniqa-kadid", "maniqa-pipal"})


@contextlib.contextmanager
def _timm_without_pretrained(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    import timm

    orig = timm.create_model

    def create_model(*args: Any, **kwargs: Any) -> Any:
        kwargs["pretrained"] = False
        return orig(*args, **kwargs)

    timm.create_model = create_model
    try:
        yield
    finally:
        timm.create_model = orig


def _pick_device(device: str | None) -> Any:
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class PyIQAScorer:
    """A pyiqa NR metric built offline, scoring batches of RGB images.

    Args:
        name: pyiqa metric name (``"brisque"``, ``"maniqa"``, ...).
        weights_dir: folder with the files pyiqa needs (default :func:`nr_weights_dir`).
        device: torch device; CUDA when available by default.
        batch_size: images per forward pass in :meth:`score_batch` (same-size images only).
        **options: passed to ``pyiqa.create_metric`` (e.g. ``pretrained_model_path``).

    Raises:
        NRIQAExtraMissing: pyiqa not installed.
        NRWeightsMissing: a needed file is not in the folder.
        LodeBenchError: unknown or full-reference pyiqa metric.
    """

    def __init__(
        self,
        name: str,
        *,
        weights_dir: str | os.PathLike[str] | None = None,
        device: str | None = None,
        batch_size: int = 8,
        **options: Any,
    ) -> None:
        pyiqa = import_pyiqa(name)
        from pyiqa.default_model_configs import DEFAULT_CONFIGS

        if name not in DEFAULT_CONFIGS:
            raise LodeBenchError(f"pyiqa has no metric {name!r}")
        if DEFAULT_CONFIGS[name].get("metric_mode") != "NR":
            raise LodeBenchError(f"pyiqa metric {name!r} is not a no-reference metric")
        self.name = name
        self.folder = Path(weights_dir).expanduser() if weights_dir else nr_weights_dir()
        self.device = _pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self.lower_better = bool(DEFAULT_CONFIGS[name].get("lower_better", False))
        self._lock = threading.Lock()
        with (
            offline(self.folder, name),
            contextlib.redirect_stdout(io.StringIO()),
            _timm_without_pretrained(
                name in FULL_CHECKPOINT and options.get("pretrained", True) is not False
            ),
        ):
            try:
                self.metric = pyiqa.create_metric(
                    name, device=self.device, as_loss=False, **options
                )
            except LodeBenchError:
                raise
            except Exception as exc:
                text = f"{type(exc).__name__}: {exc}"
                if (
                    "offline" in text.lower()
                    or "LocalEntryNotFound" in text
                    or "cannot find" in text.lower()
                ):
                    raise NRWeightsMissing(
                        f"{name}: pyiqa needs a backbone from the Hugging Face hub that is not in the "
                        f"local hub cache ({text.splitlines()[0][:200]}); lode-bench never downloads "
                        f"it: copy the hub snapshot into the cache (HF_HOME)"
                    ) from exc
                hint = (
                    (
                        "; CLIP-based pyiqa metrics need openai-clip's pkg_resources: "
                        "pip install 'setuptools<81'"
                    )
                    if "pkg_resources" in text
                    else ""
                )
                raise LodeBenchError(
                    f"{name}: pyiqa could not build the metric ({text[:300]}){hint}"
                ) from exc
        self.metric.eval()

    def _tensor(self, imgs: Sequence[np.ndarray], data_range: float) -> Any:
        import torch

        arr = np.stack([np.asarray(im, dtype=np.float32) for im in imgs]) / np.float32(data_range)
        return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous().to(self.device)

    def score_batch(self, imgs: Sequence[np.ndarray], *, data_range: float = 255.0) -> list[float]:
        """Scores of H×W×3 RGB images on ``[0, data_range]``, same-size images batched."""
        dr = check_data_range(data_range)
        checked = [
            check_image(im, name=f"image {i}", allow_grey=False) for i, im in enumerate(imgs)
        ]
        out: list[float] = [float("nan")] * len(checked)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(checked):
            groups.setdefault(im.shape, []).append(i)
        import torch

        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                part = idx[start : start + self.batch_size]
                with self._lock, torch.no_grad():
                    val = self.metric(self._tensor([checked[i] for i in part], dr))
                vals = np.asarray(val.detach().double().cpu()).reshape(-1)
                for i, v in zip(part, vals, strict=True):
                    out[i] = float(v)
        return out

    def __call__(self, img: np.ndarray, *, data_range: float = 255.0) -> float:
        return self.score_batch([img], data_range=data_range)[0]


@functools.lru_cache(maxsize=8)
def _cached(
    name: str, weights_dir: str | None, device: str | None, options: tuple[tuple[str, Any], ...]
) -> PyIQAScorer:
    return PyIQAScorer(name, weights_dir=weights_dir, device=device, **dict(options))


def get_scorer(
    name: str, *, weights_dir: str | None = None, device: str | None = None, **options: Any
) -> PyIQAScorer:
    """A cached :class:`PyIQAScorer` (one per name, folder, device and options)."""
    folder = str(Path(weights_dir).expanduser()) if weights_dir else str(nr_weights_dir())
    return _cached(name, folder, device, tuple(sorted(options.items())))


def pyiqa_score(
    pred: np.ndarray,
    *,
    name: str,
    weights_dir: str | None = None,
    device: str | None = None,
    data_range: float = 255.0,
    **options: Any,
) -> float:
    """Registered pyiqa-backed NR metric: ``pred`` H×W×3 RGB on ``[0, data_range]``."""
    return get_scorer(name, weights_dir=weights_dir, device=device, **options)(
        pred, data_range=data_range
    )


def check_pyiqa(
    *,
    name: str,
    weights_dir: str | None = None,
    device: str | None = None,
    data_range: float = 255.0,
    **options: Any,
) -> None:
    """Raise the one-line reason when the metric cannot be built here (extra or files missing)."""
    get_scorer(name, weights_dir=weights_dir, device=device, **options)


def pyiqa_metric_spec(name: str) -> Any:
    """A :class:`~lode_bench.metrics.base.MetricSpec` for any pyiqa NR metric, as ``pyiqa:<name>``."""
    from lode_bench.metrics.base import MetricSpec

    import_pyiqa(name)
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    cfg = DEFAULT_CONFIGS.get(name)
    if cfg is None or cfg.get("metric_mode") != "NR":
        raise LodeBenchError(f"pyiqa has no no-reference metric {name!r}")
    return MetricSpec(
        name=f"pyiqa:{name}",
        fn=f"{__name__}:pyiqa_score",
        higher_is_better=not cfg.get("lower_better", False),
        value_range=(-np.inf, np.inf),
        colour="RGB in [0, 1]",
        input_rule="H×W×3 RGB uint8; passed to pyiqa as float32 / 255",
        description=f"pyiqa NR metric {name!r} (score range {cfg.get('score_range', '?')}).",
        reference="IQA-PyTorch (pyiqa)",
        no_reference=True,
        check=f"{__name__}:check_pyiqa",
        defaults={"name": name},
    )
