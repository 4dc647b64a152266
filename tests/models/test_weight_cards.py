"""Weight cards (``arch.tag``): resolution, what each card carries, and that the plain
architecture names behave as before."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lode_bench.datasets.types import Sample
from lode_bench.errors import UnknownNameError
from lode_bench.metrics.protocols import get_protocol
from lode_bench.models import ModelSpec, get_model_card, list_model_cards, load_model
from lode_bench.models.published_weights import WEIGHT_CARDS
from lode_bench.models.weights import NO_WEIGHTS, Published, WeightCard, tagged_card, tagged_cards

EXPECTED = {
    "nafnet.gopro-width32",
    "nafnet.gopro-width64",
    "nafnet.reds-width64",
    "nafnet-baseline.gopro-width32",
    "nafnet-baseline.gopro-width64",
    "restormer.motion",
    "restormer.defocus-single",
    "mimo-unet.gopro",
    "mimo-unet-plus.gopro",
    "mimo-unet-plus.realblur",
    "mimo-unet-plusplus.gopro",
    "deepdeblur.gopro",
    "deepdeblur.reds",
    "deepdeblur.gopro-amp",
    "deepdeblur.reds-amp",
    "deepdeblur.reds-amp-gopro-pretrained",
    "bladenet.unet",
    "bladenet.bsa-only",
    "bladenet.lbp-only",
}


def test_every_weight_card_resolves_to_arch_plus_weights():
    names = {c.name for c in list_model_cards()}
    assert EXPECTED <= names
    assert {w.name for w in WEIGHT_CARDS} == EXPECTED
    for w in WEIGHT_CARDS:
        card = get_model_card(w.name)
        arch = get_model_card(w.arch)
        assert card.weights is w and card.name == f"{w.arch}.{w.tag}"
        assert card.factory == arch.factory and card.checkpoint_keys == arch.checkpoint_keys
        assert card.input_range == arch.input_range and card.colour_order == arch.colour_order
        assert dict(card.options) == {**arch.options, **w.options}
        assert (
            card.training_set == w.training_set
            and card.licence == arch.licence
            and card.needs_checkpoint
        )
        assert w.conventions and w.training_set
        summary = card.summary()["weights"]
        assert summary["arch"] == w.arch and summary["tag"] == w.tag
        for p in w.published:
            assert (p.psnr is not None or p.ssim is not None) and p.source
            if p.protocol:
                assert get_protocol(p.protocol).name == p.protocol


def test_case_insensitive_names_aliases_and_did_you_mean():
    assert get_model_card("NAFNet.GoPro-Width64").name == "nafnet.gopro-width64"
    assert get_model_card("restormer.gopro").name == "restormer.motion"
    assert get_model_card("mimo-unet++").name == "mimo-unet-plusplus"
    with pytest.raises(UnknownNameError, match="nafnet.gopro-width64"):
        get_model_card("nafnet.gopro-width46")


def test_options_follow_the_official_test_configs():
    assert get_model_card("nafnet.gopro-width32").options["width"] == 32
    assert get_model_card("nafnet.reds-width64").options["width"] == 64
    b32, b64 = (
        get_model_card("nafnet-baseline.gopro-width32"),
        get_model_card("nafnet-baseline.gopro-width64"),
    )
    assert (b32.options["width"], b32.options["dw_expand"]) == (32, 1)
    assert (b64.options["width"], b64.options["dw_expand"]) == (64, 2)
    assert b32.factory.endswith("nafnet:BaselineLocal")
    for tag in ("motion", "defocus-single"):
        opts = get_model_card(f"restormer.{tag}").options
        assert (
            opts["LayerNorm_type"] == "WithBias"
            and opts["bias"] is False
            and opts["dual_pixel_task"] is False
        )
    pp = get_model_card("mimo-unet-plusplus.gopro")
    assert pp.options["transforms"] == 8 and pp.options["arch"].endswith("mimounet:MIMOUNetPlus")
    assert get_model_card("bladenet.unet").options == {"usingMask": False, "usingSA": False}
    assert get_model_card("bladenet.unet").colour_order == "BGR"


def test_published_numbers_as_the_official_tables():
    def first(name):
        return get_model_card(name).weights.published[0]

    assert (first("nafnet.gopro-width64").psnr, first("nafnet.gopro-width64").ssim) == (
        33.7103,
        0.9668,
    )
    assert (first("nafnet.gopro-width32").psnr, first("nafnet.gopro-width32").ssim) == (
        32.8705,
        0.9606,
    )
    assert (first("nafnet.reds-width64").psnr, first("nafnet-baseline.gopro-width64").psnr) == (
        29.0903,
        33.3960,
    )
    assert (first("deepdeblur.gopro").psnr, first("deepdeblur.gopro").ssim) == (30.40, 0.9018)
    assert (first("deepdeblur.gopro-amp").psnr, first("deepdeblur.gopro-amp").ssim) == (
        30.42,
        0.9021,
    )
    assert (
        first("deepdeblur.gopro").protocol == "deepdeblur"
        and first("nafnet.gopro-width64").protocol == "gopro"
    )
    assert [p.psnr for p in get_model_card("restormer.motion").weights.published][:3] == [
        32.92,
        31.22,
        28.96,
    ]
    assert [
        first(f"{a}.gopro").psnr for a in ("mimo-unet", "mimo-unet-plus", "mimo-unet-plusplus")
    ] == [31.73, 32.45, 32.68]


def test_ablations_without_published_weights_say_so():
    for name in ("bladenet.unet", "bladenet.bsa-only", "bladenet.lbp-only"):
        card = get_model_card(name)
        assert not card.weights.has_weights and NO_WEIGHTS in card.description
        assert card.summary()["weights"]["file"] == NO_WEIGHTS
    assert all(w.has_weights for w in WEIGHT_CARDS if w.arch != "bladenet")


def test_plain_architecture_names_are_unchanged():
    for name in (
        "nafnet",
        "nafnet-plain",
        "restormer",
        "mimo-unet",
        "mimo-unet-plus",
        "deepdeblur",
        "bladenet",
    ):
        card = get_model_card(name)
        assert card.weights is None and "weights" not in card.summary()
    assert get_model_card("nafnet-gopro").name == "nafnet"
    assert get_model_card("nafnet").factory.endswith("nafnet:NAFNetLocal")
    assert get_model_card("nafnet").options["width"] == 64
    assert "options" in get_model_card("restormer").summary()
    assert ModelSpec("nafnet", random_weights=True).store_label() == "nafnet@random0"
    assert (
        ModelSpec("nafnet.gopro-width32", random_weights=True).store_label()
        == "nafnet.gopro-width32@random0"
    )


def test_card_hash_ignores_published_facts_but_not_options():
    card = get_model_card("nafnet.gopro-width64")
    other = dataclasses.replace(card.weights, published=(Published("x", 1.0, None, "", "s"),))
    assert dataclasses.replace(card, weights=other).card_hash() == card.card_hash()
    assert get_model_card("nafnet.gopro-width32").card_hash() != card.card_hash()


def test_tagged_card_checks_its_architecture():
    arch = get_model_card("nafnet")
    w = WeightCard(arch="restormer", tag="x", training_set="t", file="f", conventions="c")
    with pytest.raises(ValueError, match="is for 'restormer'"):
        tagged_card(arch, w)
    with pytest.raises(KeyError, match="no architecture card"):
        tagged_cards([arch], [w])
    card = tagged_card(arch, dataclasses.replace(w, arch="nafnet", options={"width": 8}))
    assert (
        card.name == "nafnet.x"
        and card.options["width"] == 8
        and card.options["enc_blk_nums"] == (1, 1, 1, 28)
    )


@pytest.mark.parametrize(
    "name,options",
    [
        (
            "nafnet-baseline.gopro-width32",
            {"width": 8, "enc_blk_nums": (1,), "middle_blk_num": 1, "dec_blk_nums": (1,)},
        ),
        ("mimo-unet-plusplus.gopro", {"num_res": 1, "base_channel": 8, "transforms": 4}),
        ("bladenet.lbp-only", {"width": 4}),
    ],
)
def test_tagged_cards_run(name, options):
    model = load_model(ModelSpec(name, options=options, random_weights=True), device="cpu")
    img = np.random.default_rng(0).random((18, 22, 3), dtype=np.float32)
    out = model.deblur(img, Sample("x", "x.png"))
    assert out.shape == img.shape and np.all(np.isfinite(out))


def test_ls_models_lists_the_tagged_cards():
    from lode_bench.cli.ls import ls_entries

    rows = {r["name"]: r for r in ls_entries("models")}
    assert EXPECTED <= set(rows)
    assert rows["deepdeblur.gopro"]["input"] == "RGB 0-255, pad x4"
    assert rows["bladenet.unet"]["input"].startswith("BGR")
