"""``lode-tiny``: shipped weights, card, forward contract, and its training script."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import lode_bench
from lode_bench.datasets.types import Sample
from lode_bench.models.archs.lode_tiny import LodeTiny
from lode_bench.models.card import get_model_card
from lode_bench.models.checkpoint import (
    extract_state_dict,
    load_state_dict_strict,
    read_checkpoint,
)
from lode_bench.models.loader import ModelSpec, load_model
from lode_bench.models.train_demo import TrainConfig, main, train

DATA = Path(lode_bench.__file__).parent / "data" / "models"
WEIGHTS = DATA / "lode-tiny.pth"
TRAINING = json.loads((DATA / "lode-tiny.training.json").read_text())


def test_shipped_weights_are_a_plain_state_dict_that_loads_strictly():
    assert WEIGHTS.stat().st_size < 4 * 2**20  # "a few MB at most"
    sd = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert isinstance(sd, dict) and all(isinstance(v, torch.Tensor) for v in sd.values())
    card = get_model_card("lode-tiny")
    assert card.bundled_weights_path() == WEIGHTS.resolve()
    model = LodeTiny(**card.options)
    load_state_dict_strict(
        model,
        extract_state_dict(read_checkpoint(WEIGHTS), card.checkpoint_keys),
        source=str(WEIGHTS),
    )
    assert sum(p.numel() for p in model.parameters()) == TRAINING["parameters"]
    # trained: the residual head is no longer the zero it starts from
    assert float(model.ending.weight.detach().abs().max()) > 1e-3


def test_card_and_markdown_say_how_it_was_trained():
    card = get_model_card("lode-tiny")
    cfg = TRAINING["config"]
    assert card.kind == "torch" and not card.non_blind and card.licence.startswith("Apache-2.0")
    arch = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in TRAINING["architecture"].items()
        if k != "class"
    }
    assert dict(card.options) == arch
    for fact in (
        f"seed {cfg['data_seed']}",
        f"{cfg['steps']} steps",
        f"seed {cfg['seed']}",
        f"batch {cfg['batch']}",
        f"{cfg['patch']} px",
    ):
        assert fact in card.training_set, fact
    md = (DATA / "lode-tiny.md").read_text()
    for fact in (
        f"{TRAINING['parameters']:,}",
        f"{cfg['steps']}",
        "Apache-2.0",
        "python -m lode_bench.models.train_demo",
        f"data_seed={cfg['data_seed']}",
    ):
        assert fact in md, fact
    summary = card.summary()
    assert (
        summary["bundled_weights"] == "data/models/lode-tiny.pth"
        and len(summary["bundled_sha256"]) == 64
    )


def test_registered_model_keeps_shape_and_range_through_the_torch_path():
    rng = np.random.default_rng(3)
    img = rng.random((37, 53, 3), dtype=np.float32)  # not a multiple of 8: padded
    sample = Sample(id="x", blur="x.png")
    whole = load_model(ModelSpec("lode-tiny"), device="cpu")
    tiled = load_model(ModelSpec("lode-tiny"), device="cpu", tile=24, tile_overlap=8)
    a, b = whole.deblur(img, sample), tiled.deblur(img, sample)
    for out in (a, b):
        assert out.shape == img.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
    assert whole.param_count() == TRAINING["parameters"]
    assert (whole.flops(64, 64) or 0) > 1e6
    # the network is a residual model: on a flat image it changes little
    flat = np.full((40, 48, 3), 0.5, dtype=np.float32)
    assert np.abs(whole.deblur(flat, sample) - 0.5).max() < 0.05


TINY = TrainConfig(
    steps=2,
    batch=2,
    patch=32,
    warmup=1,
    pool_sizes=((64, 80),),
    pool_per_size=1,
    val_size=(48, 64),
    val_n=1,
    eval_every=1,
)


def test_training_script_smoke_is_deterministic_and_loadable(tmp_path):
    doc = train(TINY, tmp_path / "a", progress=False)
    assert [r["step"] for r in doc["history"]] == [1, 2]
    assert {"global_gain_db", "local_gain_db"} <= set(doc["history"][-1])
    model = LodeTiny(**get_model_card("lode-tiny").options)
    sd_a = extract_state_dict(read_checkpoint(tmp_path / "a" / "lode-tiny.pth"), ())
    load_state_dict_strict(model, sd_a, source="a")
    assert (
        main(
            [
                "--out",
                str(tmp_path / "b"),
                "--steps",
                "2",
                "--batch",
                "2",
                "--patch",
                "32",
                "--pool-per-size",
                "1",
                "--val-n",
                "1",
                "--eval-every",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    # same configuration, same weights (the CLI run differs in pool sizes, so compare two API runs)
    train(TINY, tmp_path / "c", progress=False)
    sd_c = extract_state_dict(read_checkpoint(tmp_path / "c" / "lode-tiny.pth"), ())
    assert all(torch.equal(sd_a[k], sd_c[k]) for k in sd_a)


def test_training_refuses_a_resume_state_of_another_configuration(tmp_path):
    from lode_bench.errors import ConfigError

    train(TINY, tmp_path, progress=False)
    other = TrainConfig(**{**TINY.__dict__, "seed": TINY.seed + 1})
    with pytest.raises(ConfigError, match="another configuration"):
        train(other, tmp_path, progress=False)
