"""``lode-tiny``: the project's own small deblurring network (a NAFNet configuration).

Three-level NAFNet of width 16 (encoder blocks 1/1/1, two middle blocks, decoder blocks
1/1/1; 407,603 parameters). It predicts the blur-to-sharp residual (NAFNet adds its
input back) and, in evaluation mode, clamps the result to the image range [0, 1]. The
parameter layout is exactly :class:`~lode_bench.models.archs.nafnet.NAFNet`'s, so the
weights are a plain NAFNet ``state_dict``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lode_bench.models.archs.nafnet import NAFNet
from lode_bench.models.builtin import LODE_TINY_OPTIONS

__all__ = ["LODE_TINY_OPTIONS", "LodeTiny"]


class LodeTiny(NAFNet):
    """NAFNet on B×3×H×W RGB in [0, 1] whose evaluation output is clamped to [0, 1].

    Args:
        width: channels at full resolution.
        enc_blk_nums: blocks per encoder level.
        middle_blk_num: blocks at the lowest resolution.
        dec_blk_nums: blocks per decoder level.
    """

    def __init__(
        self,
        width: int = 16,
        enc_blk_nums: Sequence[int] = (1, 1, 1),
        middle_blk_num: int = 2,
        dec_blk_nums: Sequence[int] = (1, 1, 1),
    ) -> None:
        super().__init__(
            img_channel=3,
            width=width,
            middle_blk_num=middle_blk_num,
            enc_blk_nums=enc_blk_nums,
            dec_blk_nums=dec_blk_nums,
        )

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        y = super().forward(inp)
        return y if self.training else y.clamp(0.0, 1.0)
