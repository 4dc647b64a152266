"""Shipped assets are found in a checkout and in a regular install's share/ folder."""

from __future__ import annotations

import sys

from lode_bench import resources
from lode_bench.capture.profiles import profiles_dir
from lode_bench.synth.recipes import recipes_dir


def test_checkout_folders_are_used():
    assert (recipes_dir() / "gopro.yaml").is_file()
    assert (profiles_dir() / "gamma22.yaml").is_file()


def test_installed_copy_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_SOURCE_ROOT", tmp_path / "site-packages")
    shared = tmp_path / "prefix" / "share" / "lode-bench" / "configs" / "synth"
    shared.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert resources.asset_dir("configs", "synth") == shared
    # neither exists: the checkout path is named so errors point at the expected place
    assert resources.asset_dir("nothing") == tmp_path / "site-packages" / "nothing"
