"""Architecture variants behind the weight cards: NAFNet's simple baseline, Restormer's
official options, BladeNet's ablations, the geometric self-ensemble and DeepDeblur's
half-precision mode. Random weights and tiny inputs only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError
from lode_bench.models import ModelSpec, get_model_card, load_model
from lode_bench.models.archs.bladenet import WholeNet
from lode_bench.models.archs.deepdeblur import MSResNet
from lode_bench.models.archs.ensemble import (
    ensemble_transforms,
    geometric_self_ensemble,
    self_ensembled,
)
from lode_bench.models.archs.mimounet import MIMOUNetPlus
from lode_bench.models.archs.nafnet import Baseline, BaselineLocal, LocalAvgPool, NAFNetLocal
from lode_bench.models.archs.restormer import Restormer
from lode_bench.models.torch_model import TorchDeblurrer, build_torch_model

# -- NAFNet simple baseline ---------------------------------------------------------------


# one BaselineBlock of c channels, as Baseline_arch.py names its parameters (dw = c * dw_expand)
def _baseline_block(
    prefix: str, c: int, dw_expand: int, ffn_expand: int
) -> dict[str, tuple[int, ...]]:
    dw, ffn = c * dw_expand, c * ffn_expand
    shapes = {
        "conv1.weight": (dw, c, 1, 1),
        "conv1.bias": (dw,),
        "conv2.weight": (dw, 1, 3, 3),
        "conv2.bias": (dw,),
        "conv3.weight": (c, dw, 1, 1),
        "conv3.bias": (c,),
        "se.1.weight": (dw // 2, dw, 1, 1),
        "se.1.bias": (dw // 2,),
        "se.3.weight": (dw, dw // 2, 1, 1),
        "se.3.bias": (dw,),
        "conv4.weight": (ffn, c, 1, 1),
        "conv4.bias": (ffn,),
        "conv5.weight": (c, ffn, 1, 1),
        "conv5.bias": (c,),
        "norm1.weight": (c,),
        "norm1.bias": (c,),
        "norm2.weight": (c,),
        "norm2.bias": (c,),
        "beta": (1, c, 1, 1),
        "gamma": (1, c, 1, 1),
    }
    return {f"{prefix}.{k}": v for k, v in shapes.items()}


def test_baseline_state_dict_is_the_official_key_list():
    # width 8, two levels, dw_expand 2: the official Baseline has 110 entries, 28,379 parameters
    w = 8
    expected = {
        "intro.weight": (w, 3, 3, 3),
        "intro.bias": (w,),
        "ending.weight": (3, w, 3, 3),
        "ending.bias": (3,),
        "downs.0.weight": (2 * w, w, 2, 2),
        "downs.0.bias": (2 * w,),
        "downs.1.weight": (4 * w, 2 * w, 2, 2),
        "downs.1.bias": (4 * w,),
        "ups.0.0.weight": (8 * w, 4 * w, 1, 1),
        "ups.1.0.weight": (4 * w, 2 * w, 1, 1),
    }
    expected |= _baseline_block("encoders.0.0", w, 2, 2) | _baseline_block(
        "encoders.1.0", 2 * w, 2, 2
    )
    expected |= _baseline_block("middle_blks.0", 4 * w, 2, 2)
    expected |= _baseline_block("decoders.0.0", 2 * w, 2, 2) | _baseline_block(
        "decoders.1.0", w, 2, 2
    )
    for cls in (Baseline, BaselineLocal):
        net = cls(
            width=w,
            enc_blk_nums=(1, 1),
            middle_blk_num=1,
            dec_blk_nums=(1, 1),
            dw_expand=2,
            ffn_expand=2,
        )
        sd = net.state_dict()
        assert {k: tuple(v.shape) for k, v in sd.items()} == expected
        assert len(sd) == 110 and sum(p.numel() for p in net.parameters()) == 28_379


def test_baseline_local_converter_boxes_and_shape():
    net = BaselineLocal(
        width=8, enc_blk_nums=(1, 1), middle_blk_num=1, dec_blk_nums=(1, 1), train_size=(32, 32)
    )
    pools = {type(m) for m in net.modules()}
    assert nn.AdaptiveAvgPool2d not in pools and LocalAvgPool in pools
    # level 0 of 32×32 training crops: box 32·48//32 = 48; level 2 (8×8 features): 12
    assert net.encoders[0][0].se[0].kernel == (48, 48) and net.middle_blks[0].se[0].kernel == (
        12,
        12,
    )
    x = torch.rand(1, 3, 37, 53)
    with torch.no_grad():
        assert net.eval()(x).shape == x.shape
    # with boxes covering the whole feature map the local model equals the plain one
    plain = Baseline(width=8, enc_blk_nums=(1, 1), middle_blk_num=1, dec_blk_nums=(1, 1)).eval()
    plain.load_state_dict(net.state_dict())
    small = torch.rand(1, 3, 24, 28)
    with torch.no_grad():
        torch.testing.assert_close(net(small), plain(small))


def test_nafnet_local_conversion_unchanged():
    net = NAFNetLocal(width=8, enc_blk_nums=(1, 1), middle_blk_num=1, dec_blk_nums=(1, 1))
    # 256×256 training crops, 1.5×: 384 at full resolution, 96 at level 2
    assert net.encoders[0][0].sca[0].kernel == (384, 384) and net.middle_blks[0].sca[0].kernel == (
        96,
        96,
    )


# -- Restormer -------------------------------------------------------------------------------


def _restormer(**kw):
    return Restormer(dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1, **kw)


def test_restormer_bias_never_reaches_the_patch_embedding():
    sd = _restormer(bias=True).state_dict()
    assert (
        "patch_embed.proj.bias" not in sd
        and "output.bias" in sd
        and "encoder_level1.0.attn.qkv.bias" in sd
    )
    assert len(sd) == 149  # the official class with the same options: 149 entries
    assert len(_restormer(bias=False).state_dict()) == 98


def test_restormer_official_option_names():
    sd = _restormer(LayerNorm_type="BiasFree").state_dict()
    assert (
        "encoder_level1.0.norm1.body.weight" in sd and "encoder_level1.0.norm1.body.bias" not in sd
    )
    with pytest.warns(DeprecationWarning, match="LayerNorm_type"):
        old = _restormer(layernorm_type="BiasFree")
    assert set(old.state_dict()) == set(sd)
    with pytest.raises(ValueError, match="LayerNorm_type"):
        _restormer(LayerNorm_type="withbias")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _restormer()  # the default spelling warns nothing


def test_restormer_dual_pixel_variant():
    net = _restormer(inp_channels=6, bias=True, dual_pixel_task=True).eval()
    sd = net.state_dict()
    assert tuple(sd["skip_conv.weight"].shape) == (16, 8, 1, 1) and len(sd) == 151
    with torch.no_grad():
        assert net(torch.rand(1, 6, 16, 24)).shape == (1, 3, 16, 24)


# -- BladeNet ablations ----------------------------------------------------------------------


@pytest.mark.parametrize("mask,sa", [(False, False), (False, True), (True, False), (True, True)])
def test_bladenet_ablation_branches(mask, sa):
    net = WholeNet(width=4, usingMask=mask, usingSA=sa).eval()
    keys = set(net.state_dict())
    assert any(k.startswith("maskNet.") for k in keys) == mask
    assert ("deblurNet.up2.sa1.conv1.weight" in keys) == sa
    assert ("deblurNet.up2.conv.double_conv.0.weight" in keys) == (not sa)
    x = torch.rand(1, 3, 21, 30)  # odd sizes: the up-blocks pad
    with torch.no_grad():
        out, att, logits = net.forward_all(x)
    assert out.shape == x.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert (att is not None) == sa and (logits is not None) == mask
    if logits is not None:
        assert logits.shape == (1, 2, 21, 30)


# -- geometric self-ensemble -----------------------------------------------------------------


class _Ramp(nn.Module):
    """Adds c times the column index: not flip- or rotation-equivariant."""

    def __init__(self, c: float = 1.0) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = torch.arange(x.shape[-1], dtype=x.dtype).expand_as(x)
        return x + self.c * cols


def test_self_ensemble_of_an_equivariant_model_is_the_model():
    conv = nn.Conv2d(3, 3, 1)  # pointwise: commutes with every flip and rotation
    x = torch.rand(2, 3, 5, 7)
    with torch.no_grad():
        for n in (1, 4, 8):
            torch.testing.assert_close(geometric_self_ensemble(conv, x, n), conv(x))


def test_self_ensemble_of_a_non_equivariant_toy_is_the_hand_derived_mean():
    # T⁻¹(ramp of T(x)) is the column index j, W-1-j (flipped), or a row index i / H-1-i
    # (rotated by 90°): the mean over the 8 transforms is (H-1 + W-1)/4 everywhere, over the
    # 4 orientation-keeping ones (W-1)/2.
    h, w = 5, 7
    x = torch.rand(1, 3, h, w)
    toy = _Ramp(c=2.0)
    torch.testing.assert_close(geometric_self_ensemble(toy, x, 8), x + 2.0 * (h - 1 + w - 1) / 4)
    torch.testing.assert_close(geometric_self_ensemble(toy, x, 4), x + 2.0 * (w - 1) / 2)
    torch.testing.assert_close(geometric_self_ensemble(toy, x, 1), toy(x))
    assert len(set(ensemble_transforms(8))) == 8
    with pytest.raises(ValueError, match="one of"):
        ensemble_transforms(2)


def test_self_ensembled_arch_keeps_the_official_keys():
    opts = {"num_res": 1, "base_channel": 8}
    torch.manual_seed(0)
    plain = MIMOUNetPlus(**opts).eval()
    ens = self_ensembled(
        "lode_bench.models.archs.mimounet:MIMOUNetPlus", transforms=8, **opts
    ).eval()
    assert isinstance(ens, MIMOUNetPlus)
    assert {k: v.shape for k, v in ens.state_dict().items()} == {
        k: v.shape for k, v in plain.state_dict().items()
    }
    ens.load_state_dict(plain.state_dict(), strict=True)
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        expected = geometric_self_ensemble(plain, x, 8)
        torch.testing.assert_close(ens(x), expected)
        assert ens(x).shape == x.shape


# -- DeepDeblur half precision ---------------------------------------------------------------


def test_deepdeblur_half_mode_keeps_fp16_weights_and_refuses_cpu(tmp_path):
    opts = {"n_resblocks": 1, "n_feats": 8}
    src = MSResNet(**opts)
    ckpt = tmp_path / "dd.pt"
    torch.save({"G": src.state_dict()}, ckpt)  # official files are float32
    card = get_model_card("deepdeblur.gopro-amp")
    module = build_torch_model(card, str(ckpt), **opts, precision="half")
    sd = module.state_dict()
    assert all(v.dtype == torch.float16 for v in sd.values())
    for k, v in src.state_dict().items():
        torch.testing.assert_close(sd[k].float(), v.half().float())
    # refused once, before any image, on a device that is not CUDA
    with pytest.raises(LodeBenchError, match="half.*CUDA device only, not on 'cpu'"):
        load_model(
            ModelSpec("deepdeblur.gopro-amp", str(ckpt), {**opts, "precision": "half"}),
            device="cpu",
        )
    with pytest.raises(
        LodeBenchError, match="half.*CUDA"
    ):  # called directly, the forward refuses too
        module(torch.rand(1, 3, 16, 20) * 255)
    with pytest.raises(ValueError, match="precision"):
        MSResNet(precision="double")
    # single precision of the same card runs on the CPU
    single = load_model(ModelSpec("deepdeblur.gopro-amp", str(ckpt), opts), device="cpu")
    img = np.random.default_rng(0).random((16, 20, 3), dtype=np.float32)
    assert single.deblur(img, Sample("x", "x.png")).shape == img.shape
    assert single.provenance()["precision"] == "float32"


def test_provenance_names_a_half_precision_model():
    card = get_model_card("nafnet-plain")
    assert (
        TorchDeblurrer(card, nn.Conv2d(3, 3, 1).half(), device="cpu").provenance()["precision"]
        == "float16"
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="half precision runs on CUDA only")
def test_deepdeblur_half_mode_on_cuda_matches_single():
    opts = {"n_resblocks": 2, "n_feats": 16}
    torch.manual_seed(0)
    single = MSResNet(**opts).cuda().eval()
    half = MSResNet(**opts, precision="half").cuda().eval()
    half.load_state_dict(single.state_dict())
    x = torch.rand(1, 3, 64, 96, device="cuda") * 255
    with torch.no_grad():
        y32, y16 = single(x), half(x)
    assert y16.dtype == torch.float32
    assert float((y32 - y16).abs().max()) < 1.0  # of 255: fp16 rounding only
    model = load_model(
        ModelSpec(
            "deepdeblur.gopro-amp", options={**opts, "precision": "half"}, random_weights=True
        ),
        device="cuda",
    )
    assert model.provenance()["precision"] == "float16"
    img = np.random.default_rng(0).random((30, 42, 3), dtype=np.float32)
    assert model.deblur(img, Sample("x", "x.png")).shape == img.shape
