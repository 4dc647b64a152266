"""NAFNet (Chen et al. 2022, "Simple Baselines for Image Restoration").

Official checkpoints (``NAFNet-GoPro-width64.pth`` and others): ``{'params': state_dict}``.
Key layout: ``intro``, ``encoders.{i}.{j}``, ``downs.{i}``, ``middle_blks.{j}``,
``ups.{i}.0``, ``decoders.{i}.{j}``, ``ending``; each block has ``norm1``, ``conv1..conv3``,
``sca.1``, ``norm2``, ``conv4``, ``conv5``, ``beta``, ``gamma``.

:class:`Baseline` is the paper's "simple baseline" (``Baseline_arch.py``): the same U-Net
with blocks that use GELU and a squeeze-and-excitation channel attention (``se.1``,
``se.3``: reduce to half, ReLU, expand, sigmoid) instead of the simple gate;
``dw_expand``/``ffn_expand`` follow the official YAML (GoPro width32: 1/2, width64: 2/2).

:class:`NAFNetLocal` is the "test-time local converter" variant the GoPro test config
uses (TLSC, Chu et al. 2021): every global average pool in the channel attention is
replaced by a local box mean whose size is 1.5× the feature size seen in training
(training crops 256×256), computed at the same position for every pixel. It has no extra
parameters, so the same checkpoint loads into both. :class:`BaselineLocal` applies the
same conversion to :class:`Baseline` (the official GoPro test configs of both use it).
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

    def __init__(
        self,
        img_channel: int = 3,
        width: int = 64,
        middle_blk_num: int = 1,
        enc_blk_nums: Sequence[int] = (1, 1, 1, 28),
        dec_blk_nums: Sequence[int] = (1, 1, 1, 1),
    ) -> None:
        super().__init__()
        self._build(img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums)

    def make_block(self, chan: int) -> nn.Module:
        """One block of ``chan`` channels (a :class:`NAFBlock`)."""
        return NAFBlock(chan)

    def _build(
        self,
        img_channel: int,
        width: int,
        middle_blk_num: int,
        enc_blk_nums: Sequence[int],
        dec_blk_nums: Sequence[int],
    ) -> None:
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        chan = width
        for n in enc_blk_nums:
            self.encoders.append(nn.Sequential(*[self.make_block(chan) for _ in range(n)]))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
            chan *= 2
        self.middle_blks = nn.Sequential(*[self.make_block(chan) for _ in range(middle_blk_num)])
        for n in dec_blk_nums:
            self.ups.append(
                nn.Sequential(nn.Conv2d(chan, chan * 2, 1, bias=False), nn.PixelShuffle(2))
            )
            chan //= 2
            self.decoders.append(nn.Sequential(*[self.make_block(chan) for _ in range(n)]))
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


def convert_to_local(net: NAFNet, train_size: tuple[int, int], base_scale: float) -> None:
    """Replace every global average pool of ``net``'s blocks by a :class:`LocalAvgPool`.

    The box at a level whose features are ``train_size >> level`` is
    ``feature size × int(train_size × base_scale) // train_size``, as the official
    converter computes it from a training-size forward pass.
    """
    base = (int(train_size[0] * base_scale), int(train_size[1] * base_scale))

    def convert(blocks: nn.Module, level: int) -> None:
        fh, fw = train_size[0] >> level, train_size[1] >> level
        kernel = (fh * base[0] // train_size[0], fw * base[1] // train_size[1])
        for parent in list(blocks.modules()):
            for name, child in parent.named_children():
                if isinstance(child, nn.AdaptiveAvgPool2d):
                    setattr(parent, name, LocalAvgPool(kernel))

    n = len(net.encoders)
    for i, enc in enumerate(net.encoders):
        convert(enc, i)
    convert(net.middle_blks, n)
    for i, dec in enumerate(net.decoders):
        convert(dec, n - 1 - i)


class NAFNetLocal(NAFNet):
    """NAFNet with the test-time local converter (the official GoPro test configuration).

    Args:
        train_size: (H, W) of the training crops (256×256 for GoPro).
        base_scale: box size as a multiple of the training feature size (1.5).
        **kwargs: as :class:`NAFNet`.
    """

    def __init__(
        self,
        *args: object,
        train_size: tuple[int, int] = (256, 256),
        base_scale: float = 1.5,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        convert_to_local(self, train_size, base_scale)


class BaselineBlock(nn.Module):
    """Block of the simple baseline: LayerNorm, 1×1, depthwise 3×3, GELU, SE attention, 1×1;
    then LayerNorm, 1×1, GELU, 1×1; both branches scaled by learned ``beta``/``gamma``."""

    def __init__(self, c: int, dw_expand: int = 1, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = c * dw_expand
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw, c, 1)
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(dw, dw // 2, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(dw // 2, dw, 1),
            nn.Sigmoid(),
        )
        self.gelu = nn.GELU()
        ffn = ffn_expand * c
        self.conv4 = nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.gelu(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.se(x))
        y = inp + x * self.beta
        x = self.conv5(self.gelu(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class Baseline(NAFNet):
    """The simple baseline of the NAFNet paper on B×3×H×W RGB in [0, 1].

    Args:
        img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums: as :class:`NAFNet`.
        dw_expand: expansion of the depthwise branch (GoPro width32: 1, width64: 2).
        ffn_expand: expansion of the feed-forward branch (2).
    """

    def __init__(
        self,
        img_channel: int = 3,
        width: int = 64,
        middle_blk_num: int = 1,
        enc_blk_nums: Sequence[int] = (1, 1, 1, 28),
        dec_blk_nums: Sequence[int] = (1, 1, 1, 1),
        dw_expand: int = 2,
        ffn_expand: int = 2,
    ) -> None:
        nn.Module.__init__(self)
        self.dw_expand = dw_expand
        self.ffn_expand = ffn_expand
        self._build(img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums)

    def make_block(self, chan: int) -> nn.Module:
        """One :class:`BaselineBlock` of ``chan`` channels."""
        return BaselineBlock(chan, self.dw_expand, self.ffn_expand)


class BaselineLocal(Baseline):
    """:class:`Baseline` with the test-time local converter (official GoPro test configs).

    Args:
        train_size: (H, W) of the training crops (256×256).
        base_scale: box size as a multiple of the training feature size (1.5).
        **kwargs: as :class:`Baseline`.
    """

    def __init__(
        self,
        *args: object,
        train_size: tuple[int, int] = (256, 256),
        base_scale: float = 1.5,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        convert_to_local(self, train_size, base_scale)
