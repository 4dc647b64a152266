"""BladeNet (``WholeNet``, Wang et al., "LODE: Deep Local Deblurring and A New Benchmark").

Official checkpoints are a bare ``state_dict`` (``torch.save(model.state_dict())``), with a
``module.`` prefix when saved from ``DataParallel``. Key layout::

    maskNet.{inc,down1..down4,up1..up4,outc}...      U-Net predicting a 2-channel blur mask
    deblurNet.inc.double_conv.{0,1,3,4}              conv, BatchNorm, (ReLU), conv, BatchNorm
    deblurNet.down{1..4}.maxpool_conv.1.double_conv...
    deblurNet.up1.conv.double_conv...                bilinear up-block
    deblurNet.up{2..4}.{conv1,deChannelConv}.double_conv..., .sa1.conv1   spatial-attention up-blocks
    deblurNet.outc.conv                               1×1 conv, then sigmoid

Input: B×3×H×W in [0, 1] in **BGR** order (the official loader keeps OpenCV's order).
The deblurring network sees the image concatenated with the predicted mask logits.

The paper's ablations are the official ``WholeNet`` switches (readme "module selection"):
``usingMask`` (the local blur prior, LBP: the mask network and its 2 extra input
channels) and ``usingSA`` (blur-aware spatial attention, BSA: the attention up-blocks).
UNet (BladeNet-) has neither, "BSA only" ``usingSA`` alone, "LBP only" ``usingMask``
alone; without a mask network there are no ``maskNet.*`` keys, and without attention
``up2..up4`` are plain up-blocks (``up{2..4}.conv.double_conv...``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int, mid: int | None = None) -> None:
        super().__init__()
        mid = mid or cout
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, mid, 3, padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), _DoubleConv(cin, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


def _up_and_match(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear ×2 (align_corners=True), zero-padded centred to ``like``'s size."""
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    dy, dx = like.shape[2] - x.shape[2], like.shape[3] - x.shape[3]
    return F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _DoubleConv(cin, cout, cin // 2)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x2, _up_and_match(x1, x2)], dim=1))


class _SpatialAttention(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv1(x))


class _SAUp(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = _DoubleConv(cin, cin)
        self.deChannelConv = _DoubleConv(cin, cout, cin // 2)
        self.sa1 = _SpatialAttention(cin)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv1(torch.cat([x2, _up_and_match(x1, x2)], dim=1))
        att = self.sa1(x)
        return self.deChannelConv(x * att), att


class _OutConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _UNetBody(nn.Module):
    def __init__(self, cin: int, w: int) -> None:
        super().__init__()
        self.inc = _DoubleConv(cin, w)
        self.down1 = _Down(w, 2 * w)
        self.down2 = _Down(2 * w, 4 * w)
        self.down3 = _Down(4 * w, 8 * w)
        self.down4 = _Down(8 * w, 8 * w)


class MaskNet(_UNetBody):
    """U-Net predicting 2-channel blur-mask logits (background, blurred)."""

    def __init__(self, cin: int = 3, cout: int = 2, width: int = 64) -> None:
        super().__init__(cin, width)
        w = width
        self.up1 = _Up(16 * w, 4 * w)
        self.up2 = _Up(8 * w, 2 * w)
        self.up3 = _Up(4 * w, w)
        self.up4 = _Up(2 * w, w)
        self.outc = _OutConv(w, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        y = self.up1(self.down4(x4), x4)
        y = self.up4(self.up3(self.up2(y, x3), x2), x1)
        return self.outc(y)


class DeblurNet(_UNetBody):
    """U-Net (spatial-attention up-blocks unless ``usingSA=False``); sigmoid output in [0, 1]."""

    def __init__(self, cin: int = 5, cout: int = 3, width: int = 64, usingSA: bool = True) -> None:  # noqa: N803
        super().__init__(cin, width)
        w = width
        self.using_sa = usingSA
        self.up1 = _Up(16 * w, 4 * w)
        up: type[nn.Module] = _SAUp if usingSA else _Up
        self.up2 = up(8 * w, 2 * w)
        self.up3 = up(4 * w, w)
        self.up4 = up(2 * w, w)
        self.outc = _OutConv(w, cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        y = self.up1(self.down4(x4), x4)
        if not self.using_sa:
            y = self.up4(self.up3(self.up2(y, x3), x2), x1)
            return torch.sigmoid(self.outc(y)), None
        y, m1 = self.up2(y, x3)
        y, m2 = self.up3(y, x2)
        y, m3 = self.up4(y, x1)
        att = m3 + _up_and_match(m2 + _up_and_match(m1, m2), m3)
        return torch.sigmoid(self.outc(y)), att


class WholeNet(nn.Module):
    """BladeNet: mask network + deblurring network (the full model by default).

    Args:
        width: channels of the first U-Net level (64 in the paper; smaller for tests).
        usingMask: build the mask network (local blur prior); official option name.
        usingSA: spatial-attention up-blocks (blur-aware attention); official option name.

    ``forward(x)`` returns the deblurred B×3×H×W image in [0, 1] (BGR in, BGR out);
    :meth:`forward_all` also returns the attention map and the blur-mask logits
    (``None`` where the configuration has no such branch).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        usingMask: bool = True,
        usingSA: bool = True,
    ) -> None:  # noqa: N803 - official names
        super().__init__()
        self.using_mask = usingMask
        if usingMask:
            self.maskNet = MaskNet(in_channels, 2, width)
        self.deblurNet = DeblurNet(
            in_channels + (2 if usingMask else 0), out_channels, width, usingSA
        )

    def forward_all(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        mask = self.maskNet(x) if self.using_mask else None
        out, att = self.deblurNet(x if mask is None else torch.cat((x, mask), dim=1))
        return out, att, mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]
