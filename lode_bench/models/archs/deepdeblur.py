"""DeepDeblur's multi-scale residual network (MSResNet, Nah et al. 2017, PyTorch version).

Official checkpoint: ``{'G': state_dict}`` with 244 tensors and 11,721,321 parameters
(3 scales, 19 residual blocks, 64 features, 5×5 kernels, no normalisation). Key layout::

    body_models.{s}.body.0.{weight,bias}             first conv (6 input channels at s=0,1; 3 at s=2)
    body_models.{s}.body.{1..19}.body.{0,2}.{weight,bias}   residual blocks (conv-ReLU-conv)
    body_models.{s}.body.20.{weight,bias}            last conv, 64 -> 3
    conv_end_models.{1,2}.uppath.0.{weight,bias}     3 -> 12 conv before PixelShuffle(2)

The network works on values in 0–255 (it subtracts 127.5 and adds it back). Its input is a
Gaussian pyramid ``[full, 1/2, 1/4]``; :func:`gaussian_pyramid` builds it on the device with
the same arithmetic as ``skimage.transform.pyramid_gaussian`` (σ = 2/3, half-sample
symmetric borders, bilinear half-pixel resampling).

``precision="half"`` is the official ``--precision half`` test mode: the weights and the
input pyramid are float16 and every layer runs in float16 (the pyramid itself is built in
float32, as the official loader builds it before the cast). It needs a CUDA device; on
any other device the forward pass stops with an error rather than silently running in
float32 or in slow, differently rounded CPU float16.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lode_bench.errors import LodeBenchError

PRECISIONS = ("single", "half")


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=True)


class _ResBlock(nn.Module):
    def __init__(self, feats: int, k: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(feats, feats, k), nn.ReLU(inplace=True), _conv(feats, feats, k)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _ScaleNet(nn.Module):
    """One scale: conv, ``n_blocks`` residual blocks, conv to 3 channels."""

    def __init__(self, cin: int, feats: int, k: int, n_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(cin, feats, k)]
        layers += [_ResBlock(feats, k) for _ in range(n_blocks)]
        layers.append(_conv(feats, 3, k))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _UpPath(nn.Module):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.uppath = nn.Sequential(_conv(3, 12, k), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.uppath(x)


def _symmetric_pad(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Half-sample symmetric padding (scipy.ndimage mode 'reflect': ``dcba|abcd|dcba``)."""
    n = x.shape[dim]
    idx = []
    for i in range(-r, n + r):
        j = -i - 1 if i < 0 else (2 * n - i - 1 if i >= n else i)
        idx.append(min(max(j, 0), n - 1))
    return x.index_select(dim, torch.tensor(idx, device=x.device))


def gaussian_pyramid(
    x: torch.Tensor, n_scales: int = 3, sigma: float = 2.0 / 3.0
) -> list[torch.Tensor]:
    """Gaussian pyramid as ``skimage.transform.pyramid_gaussian(downscale=2)`` computes it.

    Args:
        x: B×C×H×W float tensor (any range; DeepDeblur uses 0–255).
        n_scales: number of levels, the first being ``x`` itself.
        sigma: Gaussian σ applied before each halving (skimage's default 2·2/6).

    Returns:
        ``n_scales`` tensors, level ``i`` of size ``ceil(H/2^i)×ceil(W/2^i)``.
    """
    radius = int(4.0 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = (g / g.sum()).to(x.dtype).to(x.device)
    c = x.shape[1]
    kh = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    kw = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    levels = [x]
    cur = x
    for _ in range(1, n_scales):
        y = F.conv2d(_symmetric_pad(cur, radius, 2), kh, groups=c)
        y = F.conv2d(_symmetric_pad(y, radius, 3), kw, groups=c)
        size = (math.ceil(cur.shape[2] / 2), math.ceil(cur.shape[3] / 2))
        cur = F.interpolate(y, size=size, mode="bilinear", align_corners=False, antialias=False)
        levels.append(cur)
    return levels


class MSResNet(nn.Module):
    """DeepDeblur's multi-scale network.

    Args:
        n_scales: pyramid levels (3 in the paper).
        n_resblocks: residual blocks per scale (19).
        n_feats: feature channels (64).
        kernel_size: convolution size (5).
        rgb_range: value range of inputs and outputs (255).
        precision: ``"single"`` (float32) or ``"half"`` (float16 weights and activations,
            CUDA only; outputs are returned as float32).

    ``forward(x)`` takes a B×3×H×W image in 0–``rgb_range`` (H, W multiples of
    ``2**(n_scales-1)``), builds the pyramid and returns the finest output.
    """

    def __init__(
        self,
        n_scales: int = 3,
        n_resblocks: int = 19,
        n_feats: int = 64,
        kernel_size: int = 5,
        rgb_range: float = 255.0,
        precision: str = "single",
    ) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        self.n_scales = n_scales
        self.mean = rgb_range / 2
        self.body_models = nn.ModuleList(
            [_ScaleNet(6, n_feats, kernel_size, n_resblocks) for _ in range(n_scales - 1)]
            + [_ScaleNet(3, n_feats, kernel_size, n_resblocks)]
        )
        self.conv_end_models = nn.ModuleList(
            [nn.Identity()] + [_UpPath(kernel_size) for _ in range(n_scales - 1)]
        )
        if precision == "half":
            self.half()

    def forward_pyramid(self, pyramid: list[torch.Tensor]) -> list[torch.Tensor]:
        """Run on a given pyramid (finest first); returns the output pyramid (finest first)."""
        ins = [p - self.mean for p in pyramid]
        outs: list[torch.Tensor] = [ins[0]] * self.n_scales
        cur = ins[-1]
        for s in range(self.n_scales - 1, -1, -1):
            outs[s] = self.body_models[s](cur)
            if s > 0:
                cur = torch.cat((ins[s - 1], self.conv_end_models[s](outs[s])), 1)
        return [o + self.mean for o in outs]

    def check_device(self, device: torch.device) -> None:
        """Refuse a device this configuration cannot run on (half precision: CUDA only).

        Raises:
            LodeBenchError: ``precision="half"`` on a device other than CUDA.
        """
        if self.precision == "half" and device.type != "cuda":
            raise LodeBenchError(
                f"DeepDeblur precision 'half' (official --precision half) runs in float16 on a CUDA "
                f"device only, not on {device.type!r}: use --device cuda, or precision 'single' "
                "(optionally with --amp)"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.precision == "half":
            self.check_device(x.device)
            pyramid = [p.half() for p in gaussian_pyramid(x.float(), self.n_scales)]
            return self.forward_pyramid(pyramid)[0].float()
        return self.forward_pyramid(gaussian_pyramid(x, self.n_scales))[0]
