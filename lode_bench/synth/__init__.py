"""Blur synthesis: frame averaging, interpolation, degradations, local blur, recipes, datasets."""

from lode_bench.synth.averaging import FrameAccumulator, average_frames, average_frames_linear
from lode_bench.synth.builtin_dataset import build_builtin_dataset
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.recipes import Recipe, list_recipes, load_recipe, validate_recipe

__all__ = [
    "FrameAccumulator",
    "Recipe",
    "average_frames",
    "average_frames_linear",
    "build_builtin_dataset",
    "list_recipes",
    "load_recipe",
    "run_recipe",
    "validate_recipe",
]
