"""Architectures: official key layout and parameter counts, strict loading of synthetic
checkpoints written in each official wrapper format, forward passes on small inputs.

Key sets, tensor counts and parameter counts were checked against the official
repositories' own module code; the counts here are those numbers (also the papers':
NAFNet-width64 67.89 M, MIMO-UNet 6.8 M, MIMO-UNet+ 16.1 M, Restormer 26.13 M,
DeepDeblur 11,721,321 in PROTOCOLS.md).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from lode_bench.datasets.types import Sample
from lode_bench.models import ModelSpec, get_model_card, load_model
from lode_bench.models.checkpoint import CheckpointError, read_checkpoint
from lode_bench.models.torch_model import build_torch_model

# name -> (state_dict entries, parameters, {official key: shape})
OFFICIAL = {
    "deepdeblur": (
        244,
        11_721_321,
        {
            "body_models.0.body.0.weight": (64, 6, 5, 5),
            "body_models.2.body.0.weight": (64, 3, 5, 5),
            "body_models.1.body.19.body.2.bias": (64,),
            "body_models.2.body.20.weight": (3, 64, 5, 5),
            "conv_end_models.1.uppath.0.weight": (12, 3, 5, 5),
            "conv_end_models.2.uppath.0.bias": (12,),
        },
    ),
    "nafnet": (
        664,
        67_888_835,
        {
            "intro.weight": (64, 3, 3, 3),
            "encoders.3.27.conv2.weight": (1024, 1, 3, 3),
            "encoders.0.0.sca.1.weight": (64, 64, 1, 1),
            "middle_blks.0.norm1.weight": (1024,),
            "downs.3.weight": (1024, 512, 2, 2),
            "ups.0.0.weight": (2048, 1024, 1, 1),
            "decoders.3.0.beta": (1, 64, 1, 1),
            "ending.weight": (3, 64, 3, 3),
        },
    ),
    "mimo-unet": (
        244,
        6_807_171,
        {
            "Encoder.0.layers.7.main.1.main.0.weight": (32, 32, 3, 3),
            "feat_extract.3.main.0.weight": (128, 64, 4, 4),
            "AFFs.0.conv.0.main.0.weight": (32, 224, 1, 1),
            "SCM1.main.3.main.0.weight": (125, 64, 1, 1),
            "FAM2.merge.main.0.weight": (64, 64, 3, 3),
            "ConvsOut.1.main.0.bias": (3,),
        },
    ),
    "mimo-unet-plus": (
        532,
        16_107_651,
        {
            "Decoder.2.layers.19.main.0.main.0.weight": (32, 32, 3, 3),
            "Convs.0.main.0.weight": (64, 128, 1, 1),
        },
    ),
    "restormer": (
        494,
        26_126_644,
        {
            "patch_embed.proj.weight": (48, 3, 3, 3),
            "encoder_level1.0.norm1.body.weight": (48,),
            "encoder_level1.0.norm1.body.bias": (48,),
            "latent.7.attn.temperature": (8, 1, 1),
            "encoder_level2.0.attn.qkv_dwconv.weight": (288, 1, 3, 3),
            "down1_2.body.0.weight": (24, 48, 3, 3),
            "up2_1.body.0.weight": (192, 96, 3, 3),
            "reduce_chan_level3.weight": (192, 384, 1, 1),
            "refinement.3.ffn.project_in.weight": (510, 96, 1, 1),
            "output.weight": (3, 96, 3, 3),
        },
    ),
    "bladenet": (
        304,
        40_778_568,
        {
            "maskNet.inc.double_conv.0.weight": (64, 3, 3, 3),
            "maskNet.outc.conv.weight": (2, 64, 1, 1),
            "deblurNet.inc.double_conv.0.weight": (64, 5, 3, 3),
            "deblurNet.down4.maxpool_conv.1.double_conv.4.running_var": (512,),
            "deblurNet.up1.conv.double_conv.0.weight": (512, 1024, 3, 3),
            "deblurNet.up2.conv1.double_conv.0.weight": (512, 512, 3, 3),
            "deblurNet.up2.deChannelConv.double_conv.3.weight": (128, 256, 3, 3),
            "deblurNet.up4.sa1.conv1.weight": (1, 128, 7, 7),
            "deblurNet.outc.conv.weight": (3, 64, 1, 1),
        },
    ),
    # counts of the official classes built with the official test-config options
    "nafnet-baseline.gopro-width32": (
        736,
        17_023_875,
        {
            "intro.weight": (32, 3, 3, 3),
            "encoders.3.27.se.1.weight": (128, 256, 1, 1),
            "encoders.3.27.se.3.weight": (256, 128, 1, 1),
            "encoders.0.0.conv3.weight": (32, 32, 1, 1),
            "middle_blks.0.conv5.weight": (512, 1024, 1, 1),
            "decoders.3.0.gamma": (1, 32, 1, 1),
        },
    ),
    "bladenet.unet": (
        128,
        17_267_523,
        {
            "deblurNet.inc.double_conv.0.weight": (64, 3, 3, 3),
            "deblurNet.up2.conv.double_conv.0.weight": (256, 512, 3, 3),
            "deblurNet.outc.conv.weight": (3, 64, 1, 1),
        },
    ),
    "bladenet.bsa-only": (
        176,
        23_509_958,
        {
            "deblurNet.inc.double_conv.0.weight": (64, 3, 3, 3),
            "deblurNet.up2.conv1.double_conv.0.weight": (512, 512, 3, 3),
            "deblurNet.up2.deChannelConv.double_conv.0.weight": (256, 512, 3, 3),
            "deblurNet.up4.sa1.conv1.weight": (1, 128, 7, 7),
        },
    ),
    "bladenet.lbp-only": (
        256,
        34_536_133,
        {
            "maskNet.outc.conv.weight": (2, 64, 1, 1),
            "deblurNet.inc.double_conv.0.weight": (64, 5, 3, 3),
            "deblurNet.up2.conv.double_conv.0.weight": (256, 512, 3, 3),
        },
    ),
}

# small configurations for forward tests, and the official wrapper of each checkpoint
SMALL = {
    "deepdeblur": ({"n_resblocks": 1, "n_feats": 8}, "G"),
    "nafnet": (
        {"width": 8, "enc_blk_nums": (1, 1), "middle_blk_num": 1, "dec_blk_nums": (1, 1)},
        "params",
    ),
    "nafnet-plain": (
        {"width": 8, "enc_blk_nums": (1, 1), "middle_blk_num": 1, "dec_blk_nums": (1, 1)},
        "params",
    ),
    "mimo-unet": ({"num_res": 1, "base_channel": 8}, "model"),
    "mimo-unet-plus": ({"num_res": 1, "base_channel": 8}, "model"),
    "restormer": ({"dim": 8, "num_blocks": (1, 1, 1, 1), "num_refinement_blocks": 1}, "params"),
    "bladenet": ({"width": 4}, None),
    "bladenet.unet": ({"width": 4}, None),
    "bladenet.bsa-only": ({"width": 4}, None),
    "bladenet.lbp-only": ({"width": 4}, None),
    "nafnet-baseline": (
        {"width": 8, "enc_blk_nums": (1, 1), "middle_blk_num": 1, "dec_blk_nums": (1, 1)},
        "params",
    ),
    "mimo-unet-plusplus": ({"num_res": 1, "base_channel": 8}, "model"),
    "restormer.defocus-single": (
        {"dim": 8, "num_blocks": (1, 1, 1, 1), "num_refinement_blocks": 1},
        "params",
    ),
    "deepdeblur.reds-amp": ({"n_resblocks": 1, "n_feats": 8}, "G"),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_key_layout_and_parameter_count(name):
    card = get_model_card(name)
    module = build_torch_model(card, None, random_weights=True)
    sd = module.state_dict()
    n_entries, n_params, keys = OFFICIAL[name]
    assert len(sd) == n_entries
    assert sum(p.numel() for p in module.parameters()) == n_params
    for key, shape in keys.items():
        assert tuple(sd[key].shape) == shape, key


@pytest.mark.parametrize("name", sorted(SMALL))
def test_strict_load_of_official_wrapper_and_forward(name, tmp_path):
    options, wrapper = SMALL[name]
    card = get_model_card(name)
    source = build_torch_model(card, None, random_weights=True, seed=7, **options)
    sd = source.state_dict()
    if name.startswith("bladenet"):  # saved from DataParallel: every key under "module."
        payload = {f"module.{k}": v for k, v in sd.items()}
    else:
        payload = {wrapper: sd}
    if wrapper == "params":
        payload["optimizer_step"] = torch.tensor(3)  # extra plain entries are allowed
    ckpt = tmp_path / f"{name}.pth"
    torch.save(payload, ckpt)
    model = load_model(ModelSpec(name, str(ckpt), options), device="cpu")
    loaded = model.module.state_dict()
    assert set(loaded) == set(sd)
    for k in sd:
        assert torch.equal(loaded[k], sd[k]), k
    h, w = 37, 45  # not a multiple of the padding: the engine pads and crops
    img = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    out = model.deblur(img, Sample("x", "x.png"))
    assert out.shape == (h, w, 3) and out.dtype == np.float32 and np.all(np.isfinite(out))
    # same output as calling the module on the padded tensor by hand
    x = torch.from_numpy(img).permute(2, 0, 1)[None] * card.input_range
    if card.colour_order == "BGR":
        x = x.flip(1)
    m = card.pad_multiple
    ph, pw = (-h) % m, (-w) % m
    mode = {"replicate": "replicate", "reflect": "reflect", "constant": "constant"}[card.pad_mode]
    xp = torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)
    with torch.no_grad():
        ref = model.module(xp)[..., :h, :w] / card.input_range
    if card.colour_order == "BGR":
        ref = ref.flip(1)
    np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_wrong_shapes_are_named(tmp_path):
    card = get_model_card("mimo-unet")
    other = build_torch_model(card, None, random_weights=True, num_res=1, base_channel=16)
    ckpt = tmp_path / "m.pkl"
    torch.save({"model": other.state_dict()}, ckpt)
    with pytest.raises(CheckpointError, match=r"shape mismatches .*Encoder\.0"):
        load_model(
            ModelSpec("mimo-unet", str(ckpt), {"num_res": 1, "base_channel": 8}), device="cpu"
        )
    torch.save({"model": {"Encoder.0.bogus": torch.zeros(1)}}, ckpt)
    with pytest.raises(CheckpointError, match="missing keys.*unexpected keys.*Encoder.0.bogus"):
        load_model(
            ModelSpec("mimo-unet", str(ckpt), {"num_res": 1, "base_channel": 8}), device="cpu"
        )
    torch.save({"state": {}}, ckpt)
    with pytest.raises(CheckpointError, match="none of the expected keys"):
        load_model(
            ModelSpec("mimo-unet", str(ckpt), {"num_res": 1, "base_channel": 8}), device="cpu"
        )


class _Payload:
    """Stands for any arbitrary object a malicious checkpoint could carry."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_pickled_object_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "evil.pth"
    with open(ckpt, "wb") as f:
        torch.save({"params": {"w": torch.zeros(1)}, "extra": _Payload()}, f, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(ckpt)
    assert "this must never run" not in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="refused"):
        load_model(ModelSpec("nafnet", str(ckpt), SMALL["nafnet"][0]), device="cpu")


def test_missing_and_garbage_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "none.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        read_checkpoint(bad)


def test_torch_model_without_checkpoint_is_refused():
    from lode_bench.errors import LodeBenchError

    with pytest.raises(LodeBenchError, match="needs a checkpoint"):
        load_model(ModelSpec("restormer"), device="cpu")


@pytest.mark.parametrize(
    "name,last",
    [
        ("nafnet", "ending"),
        ("restormer", "output"),
        ("mimo-unet", "feat_extract.5.main.0"),
        ("deepdeblur", "body_models.0.body.2"),
    ],
)  # 1 block: body.2 is last
def test_global_residual_wiring(name, last):
    # hand-derived: with the last convolution zeroed, the residual networks return their
    # input exactly; DeepDeblur's finest scale returns the mean it adds back (127.5 of 255)
    options, _ = SMALL[name]
    model = load_model(ModelSpec(name, options=options, random_weights=True), device="cpu")
    sd = model.module.state_dict()
    for suffix in ("weight", "bias"):
        if f"{last}.{suffix}" in sd:
            sd[f"{last}.{suffix}"].zero_()
    img = np.random.default_rng(1).random((24, 32, 3), dtype=np.float32)
    out = model.deblur(img, Sample("x", "x.png"))
    expected = np.full_like(img, 0.5) if name == "deepdeblur" else img
    np.testing.assert_allclose(out, expected, atol=1e-6)
