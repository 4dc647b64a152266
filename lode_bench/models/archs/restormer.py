"""Restormer (Zamir et al. 2022), motion-deblurring configuration by default.

Official checkpoints (``motion_deblurring.pth``): ``{'params': state_dict}``. Key layout:
``patch_embed.proj``, ``encoder_level{1,2,3}.{j}``, ``down{1_2,2_3,3_4}.body.0``, ``latent.{j}``,
``up{4_3,3_2,2_1}.body.0``, ``reduce_chan_level{3,2}``, ``decoder_level{3,2,1}.{j}``,
``refinement.{j}``, ``output``; each transformer block has ``norm1.body.{weight,bias}``,
``attn.{temperature,qkv,qkv_dwconv,project_out}``, ``norm2.body``, and
``ffn.{project_in,dwconv,project_out}`` (no conv biases in the deblurring model).
The patch embedding never has a bias: the official model builds it without passing
``bias`` on, so no official file has ``patch_embed.proj.bias`` whatever ``bias`` says.
Options are named as in the official YAML (``LayerNorm_type``, ``dual_pixel_task``).

Input: B×3×H×W RGB in [0, 1]; the official test script reflect-pads to a multiple of 8.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class _LayerNormBody(nn.Module):
    def __init__(self, dim: int, with_bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if with_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: B×N×C
        var = x.var(-1, keepdim=True, unbiased=False)
        if self.bias is None:
            return x / torch.sqrt(var + 1e-5) * self.weight
        mu = x.mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class _ChannelLayerNorm(nn.Module):
    """Layer norm over channels of a B×C×H×W tensor (computed on B×HW×C)."""

    def __init__(self, dim: int, with_bias: bool) -> None:
        super().__init__()
        self.body = _LayerNormBody(dim, with_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.body(x.flatten(2).transpose(1, 2))
        return y.transpose(1, 2).reshape(b, c, h, w)


class _GatedFFN(nn.Module):
    def __init__(self, dim: int, expansion: float, bias: bool) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class _TransposedAttention(nn.Module):
    """Multi-Dconv head transposed attention: attention across channels, not pixels."""

    def __init__(self, dim: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class _Block(nn.Module):
    def __init__(
        self, dim: int, heads: int, expansion: float, bias: bool, with_bias_ln: bool
    ) -> None:
        super().__init__()
        self.norm1 = _ChannelLayerNorm(dim, with_bias_ln)
        self.attn = _TransposedAttention(dim, heads, bias)
        self.norm2 = _ChannelLayerNorm(dim, with_bias_ln)
        self.ffn = _GatedFFN(dim, expansion, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, cin: int, dim: int, bias: bool) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class _Resample(nn.Module):
    def __init__(self, dim: int, down: bool) -> None:
        super().__init__()
        if down:
            self.body = nn.Sequential(
                nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2)
            )
        else:
            self.body = nn.Sequential(
                nn.Conv2d(dim, dim * 2, 3, padding=1, bias=False), nn.PixelShuffle(2)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Restormer(nn.Module):
    """Restormer. Defaults are the motion-deblurring model (dim 48, blocks [4, 6, 6, 8]).

    Args:
        inp_channels, out_channels: image channels (3).
        dim: channels at level 1.
        num_blocks: transformer blocks per level.
        num_refinement_blocks: blocks after the decoder.
        heads: attention heads per level.
        ffn_expansion_factor: hidden width of the gated feed-forward (2.66).
        bias: conv biases of the transformer blocks, channel reductions and output
            (False for every released deblurring model); never of the patch embedding.
        LayerNorm_type: ``"WithBias"`` or ``"BiasFree"`` (official option name).
        dual_pixel_task: the dual-pixel defocus variant (6 input channels, a
            ``skip_conv`` from the embedding, no global residual).
        layernorm_type: deprecated spelling of ``LayerNorm_type``.
    """

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        num_blocks: Sequence[int] = (4, 6, 6, 8),
        num_refinement_blocks: int = 4,
        heads: Sequence[int] = (1, 2, 4, 8),
        ffn_expansion_factor: float = 2.66,
        bias: bool = False,
        LayerNorm_type: str = "WithBias",  # noqa: N803 - official name
        dual_pixel_task: bool = False,
        layernorm_type: str | None = None,
    ) -> None:
        super().__init__()
        if layernorm_type is not None:
            warnings.warn(
                "Restormer option 'layernorm_type' is deprecated: use 'LayerNorm_type' "
                "(the official name)",
                DeprecationWarning,
                stacklevel=2,
            )
            LayerNorm_type = layernorm_type  # noqa: N806
        if LayerNorm_type not in ("WithBias", "BiasFree"):
            raise ValueError(
                f"LayerNorm_type must be 'WithBias' or 'BiasFree', got {LayerNorm_type!r}"
            )
        lnb = LayerNorm_type == "WithBias"

        def level(d: int, n: int, h: int) -> nn.Sequential:
            return nn.Sequential(*[_Block(d, h, ffn_expansion_factor, bias, lnb) for _ in range(n)])

        self.patch_embed = _PatchEmbed(inp_channels, dim, False)
        self.encoder_level1 = level(dim, num_blocks[0], heads[0])
        self.down1_2 = _Resample(dim, down=True)
        self.encoder_level2 = level(dim * 2, num_blocks[1], heads[1])
        self.down2_3 = _Resample(dim * 2, down=True)
        self.encoder_level3 = level(dim * 4, num_blocks[2], heads[2])
        self.down3_4 = _Resample(dim * 4, down=True)
        self.latent = level(dim * 8, num_blocks[3], heads[3])
        self.up4_3 = _Resample(dim * 8, down=False)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, 1, bias=bias)
        self.decoder_level3 = level(dim * 4, num_blocks[2], heads[2])
        self.up3_2 = _Resample(dim * 4, down=False)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, 1, bias=bias)
        self.decoder_level2 = level(dim * 2, num_blocks[1], heads[1])
        self.up2_1 = _Resample(dim * 2, down=False)
        self.decoder_level1 = level(dim * 2, num_blocks[0], heads[0])
        self.refinement = level(dim * 2, num_refinement_blocks, heads[0])
        self.dual_pixel_task = dual_pixel_task
        if dual_pixel_task:
            self.skip_conv = nn.Conv2d(dim, dim * 2, 1, bias=bias)
        self.output = nn.Conv2d(dim * 2, out_channels, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.patch_embed(x)
        e1 = self.encoder_level1(emb)
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        lat = self.latent(self.down3_4(e3))
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)))
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1))
        r = self.refinement(d1)
        if self.dual_pixel_task:
            return self.output(r + self.skip_conv(emb))
        return self.output(r) + x
