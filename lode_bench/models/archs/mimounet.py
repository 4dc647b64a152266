"""MIMO-UNet and MIMO-UNet+ (Cho et al. 2021, "Rethinking Coarse-to-Fine Approach").

Official checkpoints: ``{'model': state_dict}`` (``MIMO-UNet.pkl``, ``MIMO-UNetPlus.pkl``).
Key layout: ``Encoder.{0..2}.layers.{j}.main.{0,1}.main.0``, ``Decoder.{0..2}...``,
``feat_extract.{0..5}.main.0``, ``Convs.{0,1}``, ``ConvsOut.{0,1}``, ``AFFs.{0,1}.conv.{0,1}``,
``FAM{1,2}.merge``, ``SCM{1,2}.main.{0..3}`` and ``SCM{1,2}.conv``. MIMO-UNet has 8
residual blocks per stage, MIMO-UNet+ 20 (plus dropout layers without parameters).

Input: B×3×H×W RGB in [0, 1], H and W multiples of 4. The model returns three outputs
(1/4, 1/2, full scale); :meth:`MIMOUNet.forward` returns the full-scale one and
:meth:`MIMOUNet.forward_all` all three. MIMO-UNet++ is MIMO-UNet+ with geometric
self-ensemble at test time (:func:`lode_bench.models.archs.ensemble.self_ensembled`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicConv(nn.Module):
    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int,
        stride: int = 1,
        relu: bool = True,
        transpose: bool = False,
    ) -> None:
        super().__init__()
        if transpose:
            conv: nn.Module = nn.ConvTranspose2d(
                cin, cout, kernel_size, stride=stride, padding=kernel_size // 2 - 1
            )
        else:
            conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2)
        layers = [conv] + ([nn.ReLU(inplace=True)] if relu else [])
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class _ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.main = nn.Sequential(BasicConv(c, c, 3), BasicConv(c, c, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + x


class _Stage(nn.Module):
    def __init__(self, c: int, n: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[_ResBlock(c) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _AFF(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(BasicConv(cin, cout, 1), BasicConv(cout, cout, 3, relu=False))

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat(xs, dim=1))


class _SCM(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            BasicConv(3, c // 4, 3),
            BasicConv(c // 4, c // 2, 1),
            BasicConv(c // 2, c // 2, 3),
            BasicConv(c // 2, c - 3, 1),
        )
        self.conv = BasicConv(c, c, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x, self.main(x)], dim=1))


class _FAM(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.merge = BasicConv(c, c, 3, relu=False)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return x1 + self.merge(x1 * x2)


class MIMOUNet(nn.Module):
    """MIMO-UNet (``num_res=8``); see :class:`MIMOUNetPlus` for the 20-block variant.

    Args:
        num_res: residual blocks per encoder/decoder stage.
        base_channel: channels at full resolution (32).
    """

    def __init__(self, num_res: int = 8, base_channel: int = 32) -> None:
        super().__init__()
        c = base_channel
        self.Encoder = nn.ModuleList(
            [_Stage(c, num_res), _Stage(2 * c, num_res), _Stage(4 * c, num_res)]
        )
        self.feat_extract = nn.ModuleList(
            [
                BasicConv(3, c, 3),
                BasicConv(c, 2 * c, 3, stride=2),
                BasicConv(2 * c, 4 * c, 3, stride=2),
                BasicConv(4 * c, 2 * c, 4, stride=2, transpose=True),
                BasicConv(2 * c, c, 4, stride=2, transpose=True),
                BasicConv(c, 3, 3, relu=False),
            ]
        )
        self.Decoder = nn.ModuleList(
            [_Stage(4 * c, num_res), _Stage(2 * c, num_res), _Stage(c, num_res)]
        )
        self.Convs = nn.ModuleList([BasicConv(4 * c, 2 * c, 1), BasicConv(2 * c, c, 1)])
        self.ConvsOut = nn.ModuleList(
            [BasicConv(4 * c, 3, 3, relu=False), BasicConv(2 * c, 3, 3, relu=False)]
        )
        self.AFFs = nn.ModuleList([_AFF(7 * c, c), _AFF(7 * c, 2 * c)])
        self.FAM1 = _FAM(4 * c)
        self.SCM1 = _SCM(4 * c)
        self.FAM2 = _FAM(2 * c)
        self.SCM2 = _SCM(2 * c)

    def _skip_dropout(
        self, r1: torch.Tensor, r2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return r1, r2

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs at 1/4, 1/2 and full resolution."""
        x2 = F.interpolate(x, scale_factor=0.5)
        x4 = F.interpolate(x2, scale_factor=0.5)
        z2 = self.SCM2(x2)
        z4 = self.SCM1(x4)
        res1 = self.Encoder[0](self.feat_extract[0](x))
        z = self.FAM2(self.feat_extract[1](res1), z2)
        res2 = self.Encoder[1](z)
        z = self.FAM1(self.feat_extract[2](res2), z4)
        z = self.Encoder[2](z)
        z12 = F.interpolate(res1, scale_factor=0.5)
        z21 = F.interpolate(res2, scale_factor=2)
        z42 = F.interpolate(z, scale_factor=2)
        z41 = F.interpolate(z42, scale_factor=2)
        res2 = self.AFFs[1](z12, res2, z42)
        res1 = self.AFFs[0](res1, z21, z41)
        res1, res2 = self._skip_dropout(res1, res2)
        outs = []
        z = self.Decoder[0](z)
        outs.append(self.ConvsOut[0](z) + x4)
        z = self.feat_extract[3](z)
        z = self.Decoder[1](self.Convs[0](torch.cat([z, res2], dim=1)))
        outs.append(self.ConvsOut[1](z) + x2)
        z = self.feat_extract[4](z)
        z = self.Decoder[2](self.Convs[1](torch.cat([z, res1], dim=1)))
        outs.append(self.feat_extract[5](z) + x)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


class MIMOUNetPlus(MIMOUNet):
    """MIMO-UNet+: 20 residual blocks per stage and dropout (p=0.1) on the fused skips."""

    def __init__(self, num_res: int = 20, base_channel: int = 32) -> None:
        super().__init__(num_res=num_res, base_channel=base_channel)
        self.drop1 = nn.Dropout2d(0.1)
        self.drop2 = nn.Dropout2d(0.1)

    def _skip_dropout(
        self, r1: torch.Tensor, r2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.drop1(r1), self.drop2(r2)
