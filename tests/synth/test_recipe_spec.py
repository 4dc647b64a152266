"""Recipes are typed frozen dataclasses built from the normalised (hashed) mapping."""

from __future__ import annotations

import dataclasses

import pytest

from lode_bench.synth.motion_mask import MotionMaskParams
from lode_bench.synth.recipe_spec import DegradationSpec, FramesSpec, ObjectsSpec
from lode_bench.synth.recipes import load_recipe, validate_recipe


def test_sections_are_typed_and_match_the_config() -> None:
    r = load_recipe("rsblur-like")
    c = r.config
    assert isinstance(r.frames, FramesSpec) and r.frames.duty_cycle == c["frames"]["duty_cycle"]
    assert list(r.frames.n_choices) == r.n_choices()
    assert isinstance(r.degradations, DegradationSpec)
    assert list(r.degradations.red_gain) == c["degradations"]["red_gain"]
    assert (r.name, r.kind, r.split, r.seed, r.layout) == (
        c["name"],
        c["kind"],
        c["split"],
        c["seed"],
        c["layout"],
    )
    local = load_recipe("lode-local")
    assert isinstance(local.objects, ObjectsSpec)
    assert local.objects.moving == tuple(local.config["objects"]["moving"])
    assert isinstance(load_recipe("lode-real-local").mask, MotionMaskParams)


def test_recipe_is_frozen() -> None:
    r = validate_recipe({"kind": "global", "frames": {"n": {"min": 5, "max": 9}}})
    assert r.frames.n_choices == (5, 7, 9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.frames.duty_cycle = 0.5  # type: ignore[misc]
    assert r.degradations is None and r.jpeg_quality is None and r.bit_depth == 8
    j = validate_recipe({"kind": "global", "jpeg": {"quality": 90}, "degradations": {}})
    assert j.jpeg_quality == 90 and j.degradations is not None and j.degradations.crop == 4
