"""Shipped assets are found in a checkout and in a regular install's share/ folder."""

from __future__ import annotations

import sys

import pytest

from lode_bench import resources
from lode_bench.capture.profiles import profiles_dir
from lode_bench.errors import UnknownNameError
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


def test_packaged_copy_wins_over_a_stray_folder_outside_a_checkout(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "configs" / "suites").mkdir(parents=True)  # another distribution's "configs"
    packaged = site / "lode_bench" / "_assets" / "configs" / "suites"
    packaged.mkdir(parents=True)
    (packaged / "mine.yaml").write_text("name: mine\n")
    monkeypatch.setattr(resources, "_SOURCE_ROOT", site)
    monkeypatch.setattr(resources, "_PACKAGE", site / "lode_bench")
    assert resources.asset_dir("configs", "suites") == packaged
    assert resources.list_suites() == {"mine": packaged / "mine.yaml"}


def test_suites_and_leaderboards_by_name_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.find_suite("gopro") == resources.asset_dir("configs", "suites") / "gopro.yaml"
    assert resources.find_suite("gopro.yaml").name == "gopro.yaml"
    assert resources.find_suite("configs/suites/gopro.yaml").is_file()
    with pytest.raises(UnknownNameError, match="unknown suite 'nope' .*known: .*gopro"):
        resources.find_suite("nope")
    assert resources.find_leaderboard("sample") == resources.asset_dir("leaderboards", "sample")
    assert resources.find_leaderboard("leaderboards/lode-local").name == "lode-local"
    assert resources.find_leaderboard("../leaderboards/sample") is None
    assert resources.find_leaderboard("missing") is None
    mine = tmp_path / "gopro.yaml"  # a file in the working folder wins over the shipped name
    mine.write_text("x")
    assert resources.find_suite("gopro.yaml") == mine.relative_to(tmp_path)


def test_ls_suites_and_leaderboards_and_suite_by_name(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lode_bench.bench.suite import load_suite
    from lode_bench.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LODE_DATA", "/data")
    monkeypatch.setenv("LODE_WEIGHTS", "/weights")
    r = CliRunner().invoke(main, ["ls", "suites"])
    assert r.exit_code == 0 and r.output.splitlines()[0].startswith("cross-dataset ")
    assert {line.split()[0] for line in r.output.splitlines()} >= {"gopro", "local-blur"}
    r = CliRunner().invoke(main, ["ls", "leaderboards"])
    assert r.exit_code == 0
    assert r.output.splitlines()[0].startswith("lode-local ") and "lode v2" in r.output
    assert "sample " in r.output
    s = load_suite("gopro")
    assert s.name == "gopro" and s.runs[0].dataset == "gopro:/data/GOPRO_Large"
    r = CliRunner().invoke(main, ["leaderboard", "validate", "sample"])
    assert r.exit_code == 0 and "accepted identity.json" in r.output
    r = CliRunner().invoke(main, ["leaderboard", "validate", "nosuch"])
    assert r.exit_code == 2 and "lode-local, sample" in r.output
