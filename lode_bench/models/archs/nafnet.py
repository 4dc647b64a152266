"""NAFNet (Chen et al. 2022, "Simple Baselines for Image Restoration").

Official checkpoints (``NAFNet-GoPro-width64.pth`` and others): ``{'params': state_dict}``.
Key layout: ``intro``, ``encoders.{i}.{j}``, ``downs.{i}``, ``middle_blks.{j}``,
``ups.{i}.0``, ``decoders.{i}.{j}``, ``ending``; each block has ``norm1``, ``conv1..conv3``,
``sca.1``, ``norm2``, ``conv4``, ``conv5``, ``beta``, ``gamma``.

:class:`NAFNetLocal` is the "test-time local converter" variant the GoPro test config
uses (TLSC, Chu et al. 2021): every global average pool in the channel attention is
replaced by a local box mean whose size is 1.5× the feature size seen in training
(training crops 256×256), computed at the same position for every pixel. It has no extra
parameters, so the same checkpoint loads into both.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """Layer normalisation over the channel axis of a B×C×H×W tensor (eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LocalAvgPool(nn.Module):
    """Box mean of size ``kernel`` at every position (valid region, replicate-padded back).

    When the kernel covers the whole feature map the result is the global mean, which
    is what the plain model computes.
    """

    def __init__(self, kernel: tuple[int, int]) -> None:
        super().__init__()
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if self.kernel[0] >= h and self.kernel[1] >= w:
            return x.mean(dim=(2, 3), keepdim=True)
        k1, k2 = min(h, self.kernel[0]), min(w, self.kernel[1])
        out = F.avg_pool2d(x, (k1, k2), stride=1)
        dh, dw = h - out.shape[-2], w - out.shape[-1]
        return F.pad(out, (dw // 2, (dw + 1) // 2, dh // 2, (dh + 1) // 2), mode="replicate")

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}"


class _SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = c * dw_expand
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.sg = _SimpleGate()
        ffn = ffn_expand * c
        self.conv4 = nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class NAFNet(nn.Module):
    """NAFNet on B×3×H×W RGB in [0, 1]; pads internally to a multiple of ``2**len(enc)``.

    Args:
        img_channel: image channels (3).
        width: channels at full resolution (32 or 64 for the GoPro models).
        middle_blk_num: blocks at the lowest resolution.
        enc_blk_nums: blocks per encoder level (GoPro: ``[1, 1, 1, 28]``).
        dec_blk_nums: blocks per decoder level (GoPro: ``[1, 1, 1, 1]``).
    """

    def __init__(self, img_channel: int = 3, width: int = 64, middle_blk_num: int = 1,
                 enc_blk_nums: Sequence[int] = (1, 1, 1, 28),
                 dec_blk_nums: Sequence[int] = (1, 1, 1, 1)) -> None:
        super().__init__()
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        chan = width
        for n in enc_blk_nums:
            self.encoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(n)]))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
            chan *= 2
        self.middle_blks = nn.Sequential(*[NAFBlock(chan) for _ in range(middle_blk_num)])
        for n in dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, chan * 2, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(n)]))
        self.padder_size = 2 ** len(self.encoders)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        _, _, h, w = inp.shape
        ph = (-h) % self.padder_size
        pw = (-w) % self.padder_size
        inp = F.pad(inp, (0, pw, 0, ph))
        x = self.intro(inp)
        skips = []
        for enc, down in zip(self.encoders, self.downs, strict=True):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for dec, up, skip in zip(self.decoders, self.ups, reversed(skips), strict=True):
            x = dec(up(x) + skip)
        x = self.ending(x) + inp
        return x[:, :, :h, :w]


class NAFNetLocal(NAFNet):
    """NAFNet with the test-time local converter (the official GoPro test configuration).

    Args:
        train_size: (H, W) of the training crops (256×256 for GoPro).
        base_scale: box size as a multiple of the training feature size (1.5).
        **kwargs: as :class:`NAFNet`.
    """

    def __init__(self, *args: object, train_size: tuple[int, int] = (256, 256),
                 base_scale: float = 1.5, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        base = (int(train_size[0] * base_scale), int(train_size[1] * base_scale))

        def convert(blocks: nn.Module, level: int) -> None:
            fh, fw = train_size[0] >> level, train_size[1] >> level
            kernel = (fh * base[0] // train_size[0], fw * base[1] // train_size[1])
            for blk in blocks.modules():
                if isinstance(blk, NAFBlock):
                    blk.sca[0] = LocalAvgPool(kernel)

        n = len(self.encoders)
        for i, enc in enumerate(self.encoders):
            convert(enc, i)
        convert(self.middle_blks, n)
        for i, dec in enumerate(self.decoders):
            convert(dec, n - 1 - i)
