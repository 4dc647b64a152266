"""LPIPS (PROTOCOLS §4.4) on top of the ``lpips`` package, without any download.

The ``lpips`` package ships only the small linear layers; the backbone (AlexNet, VGG16
or SqueezeNet 1.1) comes from torchvision's ImageNet weights, which torchvision would
download into ``$TORCH_HOME/hub/checkpoints`` on first use. lode-bench never triggers
that download: it builds ``lpips.LPIPS(pretrained=True, pnet_rand=True, net=...)``
(linear layers from the package, backbone randomly initialised, no network access) and
loads the backbone state dict itself with ``torch.load(..., weights_only=True)`` from,
in order:

1. the ``backbone_weights`` argument,
2. the ``LODE_BENCH_LPIPS_BACKBONE`` environment variable,
3. torchvision's file in the torch hub cache (``torch.hub.get_dir()/checkpoints``):
   ``alexnet-owt-7be5be79.pth``, ``vgg16-397923af.pth``, ``squeezenet1_1-b8a52dc0.pth``.

When none exists :class:`LPIPSWeightsMissing` says which file to put where.

Inputs are RGB uint8 (or float with ``data_range``) mapped to [−1, 1]; the score is
called as ``(output, reference)``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.metrics.colour import check_data_range, check_image, check_same_shape

BACKBONE_ENV = "LODE_BENCH_LPIPS_BACKBONE"

#: torchvision file name of each backbone's ImageNet weights.
BACKBONE_FILES: dict[str, str] = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}

_SLICE_KEY = re.compile(r"^slice\d+\.(\d+)\.(.+)$")


class LPIPSWeightsMissing(LodeBenchError):
    """The ImageNet backbone weights LPIPS needs are not on this machine."""


def backbone_cache_dir() -> Path:
    """torchvision's weight cache: ``torch.hub.get_dir()/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def find_backbone_weights(net: str, backbone_weights: str | os.PathLike[str] | None = None) -> Path:
    """Locate the backbone weights file for ``net`` without downloading anything.

    Raises:
        LPIPSWeightsMissing: with the file name, the directory to put it in, and the
            two ways to point at a file elsewhere.
    """
    if net not in BACKBONE_FILES:
        raise LodeBenchError(f"unknown LPIPS net {net!r}; choose one of {sorted(BACKBONE_FILES)}")
    explicit = backbone_weights if backbone_weights is not None else os.environ.get(BACKBONE_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            source = "backbone_weights" if backbone_weights is not None else BACKBONE_ENV
            raise LPIPSWeightsMissing(
                f"LPIPS backbone weights file given by {source} not found: {path}"
            )
        return path
    cache = backbone_cache_dir()
    path = cache / BACKBONE_FILES[net]
    if path.is_file():
        return path
    raise LPIPSWeightsMissing(
        f"LPIPS ({net}) needs the torchvision ImageNet backbone weights {BACKBONE_FILES[net]}, "
        f"which are not in {cache}. lode-bench does not download them: copy the file into "
        f"{cache} (or set TORCH_HOME), or pass backbone_weights=PATH, or set "
        f"{BACKBONE_ENV}=PATH."
    )


def _pick_device(device: str | None) -> Any:
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _to_tensor(imgs: Sequence[np.ndarray], data_range: float, device: Any) -> Any:
    """N images H×W×3 → float32 N×3×H×W tensor in [−1, 1]."""
    import torch

    arr = np.stack([np.asarray(im, dtype=np.float32) for im in imgs])
    t = torch.from_numpy(arr).to(device).permute(0, 3, 1, 2)
    return t * (2.0 / data_range) - 1.0


class LPIPSScorer:
    """Batched LPIPS scorer with explicitly located backbone weights.

    Args:
        net: ``"alex"`` (recommended for evaluation), ``"vgg"`` or ``"squeeze"``.
        version: linear-layer version shipped with the package (``"0.1"``).
        device: torch device string; CUDA when available, else CPU, by default.
        backbone_weights: path to the torchvision backbone state dict (see module doc).
        batch_size: pairs per forward pass in :meth:`score_batch`.

    Raises:
        LPIPSWeightsMissing: backbone weights not found (checked before building).

    Example:
        The backbone file is never downloaded; a missing one stops before anything is built:

        >>> LPIPSScorer("alex", backbone_weights="no-such-file.pth")
        Traceback (most recent call last):
        ...
        lode_bench.metrics.lpips_metric.LPIPSWeightsMissing: LPIPS backbone weights file given by backbone_weights not found: no-such-file.pth

        With the file in the torch hub cache (not shipped, so not run here):

        >>> scorer = LPIPSScorer("alex")  # doctest: +SKIP
        >>> scorer(output_uint8, reference_uint8)  # doctest: +SKIP
        0.1380...
    """

    def __init__(
        self,
        net: str = "alex",
        version: str = "0.1",
        device: str | None = None,
        backbone_weights: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 8,
    ) -> None:
        self.net = net
        self.version = version
        self.weights_path = find_backbone_weights(net, backbone_weights)
        self.device = _pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self.model = self._build()

    def _build(self) -> Any:
        import lpips
        import torch

        try:
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise LodeBenchError(
                f"{self.weights_path}: cannot read LPIPS backbone weights ({type(exc).__name__}: {exc})"
            ) from exc
        if not isinstance(state, dict):
            raise LodeBenchError(
                f"{self.weights_path}: expected a state dict, got {type(state).__name__}"
            )
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # lpips passes the legacy ``pretrained=False`` to torchvision (deprecated, no download)
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(
                pretrained=True, net=self.net, version=self.version, pnet_rand=True, verbose=False
            )
        target = model.net.state_dict()
        mapped = {}
        for key in target:
            m = _SLICE_KEY.match(key)
            src = f"features.{m.group(1)}.{m.group(2)}" if m else key
            if src not in state:
                raise LodeBenchError(
                    f"{self.weights_path}: not a torchvision {self.net} backbone "
                    f"(missing key {src!r})"
                )
            if tuple(state[src].shape) != tuple(target[key].shape):
                raise LodeBenchError(
                    f"{self.weights_path}: key {src!r} has shape {tuple(state[src].shape)}, "
                    f"expected {tuple(target[key].shape)}"
                )
            mapped[key] = state[src]
        model.net.load_state_dict(mapped, strict=True)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model.to(self.device)

    def _check(self, pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = check_image(pred, name="prediction", allow_grey=False)
        t = check_image(target, name="target", allow_grey=False)
        check_same_shape(p, t)
        return p, t

    def score_batch(
        self,
        preds: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        *,
        data_range: float = 255.0,
    ) -> list[float]:
        """LPIPS of each (output, reference) pair, batched by image size.

        Args:
            preds: H×W×3 RGB outputs in ``[0, data_range]``.
            targets: matching references.
            data_range: full-scale value (255 for uint8).

        Returns:
            One distance per pair, in input order.
        """
        import torch

        dr = check_data_range(data_range)
        if len(preds) != len(targets):
            raise LodeBenchError(f"{len(preds)} predictions but {len(targets)} targets")
        pairs = [self._check(p, t) for p, t in zip(preds, targets, strict=True)]
        out: list[float] = [0.0] * len(pairs)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, (p, _) in enumerate(pairs):
            by_shape.setdefault(p.shape, []).append(i)
        with torch.no_grad():
            for idx in by_shape.values():
                for start in range(0, len(idx), self.batch_size):
                    chunk = idx[start : start + self.batch_size]
                    x0 = _to_tensor([pairs[i][0] for i in chunk], dr, self.device)
                    x1 = _to_tensor([pairs[i][1] for i in chunk], dr, self.device)
                    d = self.model(x0, x1).reshape(-1).double().cpu().numpy()
                    for i, v in zip(chunk, d, strict=True):
                        out[i] = float(v)
        return out

    def __call__(self, pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0) -> float:
        """LPIPS distance of one (output, reference) pair (lower is better)."""
        return self.score_batch([pred], [target], data_range=data_range)[0]


@functools.lru_cache(maxsize=4)
def _cached_scorer(
    net: str, version: str, device: str | None, backbone_weights: str | None
) -> LPIPSScorer:
    return LPIPSScorer(net, version=version, device=device, backbone_weights=backbone_weights)


def lpips_distance(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    net: str = "alex",
    version: str = "0.1",
    device: str | None = None,
    backbone_weights: str | os.PathLike[str] | None = None,
    data_range: float = 255.0,
) -> float:
    """LPIPS of one (output, reference) pair with a cached :class:`LPIPSScorer`.

    Args:
        pred: H×W×3 RGB output in ``[0, data_range]``.
        target: reference of the same shape.
        net: ``"alex"``, ``"vgg"`` or ``"squeeze"``.
        version: LPIPS linear-layer version.
        device: torch device (CUDA when available by default).
        backbone_weights: backbone state-dict path (else env var, else torch hub cache).
        data_range: full-scale value of the inputs.

    Raises:
        LPIPSWeightsMissing: the backbone weights are not available.
    """
    weights = None if backbone_weights is None else str(backbone_weights)
    if weights is None and os.environ.get(BACKBONE_ENV):
        weights = os.environ[BACKBONE_ENV]
    scorer = _cached_scorer(net, version, device, weights)
    return scorer(pred, target, data_range=data_range)
