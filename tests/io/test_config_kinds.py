"""Every configuration kind loads through one step and words its errors the same way.

Recipes, camera profiles, suites and leaderboard definitions are all read with
:func:`lode_bench.io.yamlfile.load_yaml_config`: an unknown top-level key is refused in
one message form naming the file, the kind and the key, and a misspelled shipped name
gets ``did you mean``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lode_bench.bench.suite import load_suite
from lode_bench.capture.profiles import load_named_profile, load_profile
from lode_bench.errors import ConfigError, UnknownNameError
from lode_bench.report.leaderboard import load_leaderboard
from lode_bench.synth.recipes import load_recipe


def _recipe_file(tmp_path: Path) -> Path:
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nkind: global\ncolour: blue\nzebra: 1\n")
    return f


def _profile_file(tmp_path: Path) -> Path:
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nresponse: srgb\ncolour: blue\nzebra: 1\n")
    return f


def _suite_file(tmp_path: Path) -> Path:
    f = tmp_path / "mine.yaml"
    f.write_text("models: [identity]\ndatasets: [x]\nprotocols: [gopro]\ncolour: blue\nzebra: 1\n")
    return f


def _leaderboard_folder(tmp_path: Path) -> Path:
    (tmp_path / "board").mkdir()
    f = tmp_path / "board" / "leaderboard.yaml"
    f.write_text("name: mine\ncolour: blue\nzebra: 1\n")
    return tmp_path / "board"


#: kind -> (loader, how messages name the kind, make a file with two unknown keys,
#: the file the message names, a misspelled shipped name, the name it should suggest)
KINDS: dict[str, tuple[Callable[[Any], Any], str, Callable[[Path], Path], str, str, str]] = {
    "recipe": (load_recipe, "synthesis recipe", _recipe_file, "mine.yaml", "gopr", "gopro"),
    "profile": (load_profile, "camera profile", _profile_file, "mine.yaml", "srbg", "srgb"),
    "suite": (load_suite, "suite", _suite_file, "mine.yaml", "goprro", "gopro"),
    "leaderboard": (
        load_leaderboard,
        "leaderboard",
        _leaderboard_folder,
        "leaderboard.yaml",
        "sampel",
        "sample",
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_keys_are_refused_in_one_form(tmp_path: Path, kind: str) -> None:
    load, words, make, file_name, _, _ = KINDS[kind]
    target = make(tmp_path)
    with pytest.raises(ConfigError) as info:
        load(target)
    msg = str(info.value)
    expected = rf"{re.escape(file_name)}: unknown {words} key\(s\) 'colour', 'zebra'; known: "
    assert re.search(expected, msg), msg
    assert "\n" not in msg
    # the known keys are listed, sorted, and include one every kind has
    known = msg.split("; known: ", 1)[1].split(", ")
    assert known == sorted(known) and "name" in known


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_misspelled_name_suggests_the_shipped_one(tmp_path: Path, kind: str, monkeypatch) -> None:
    load, words, _, _, typo, meant = KINDS[kind]
    monkeypatch.chdir(tmp_path)  # found by name from any folder
    monkeypatch.setenv("LODE_DATA", "/data")  # what the shipped suites refer to
    monkeypatch.setenv("LODE_WEIGHTS", "/weights")
    with pytest.raises(UnknownNameError) as info:
        load(typo)
    msg = str(info.value)
    assert f"unknown {words} '{typo}'; did you mean '{meant}'?" in msg, msg
    assert "known: " in msg and meant in msg.split("known: ", 1)[1]
    assert load(meant) is not None  # the suggestion loads


def test_named_profile_reference_suggests_too(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown camera profile 'rsblur'; did you mean"):
        load_named_profile("rsblur")
    missing = tmp_path / "absent.yaml"  # a path is a file, never a name
    with pytest.raises(ConfigError, match=r"absent.yaml: camera profile file not found"):
        load_profile(str(missing))


def test_suite_yaml_file_name_typo_suggests(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LODE_DATA", "/data")
    monkeypatch.setenv("LODE_WEIGHTS", "/weights")
    with pytest.raises(UnknownNameError, match=r"unknown suite 'gopr'; did you mean 'gopro'"):
        load_suite("gopr.yaml")
    with pytest.raises(ConfigError, match=r"configs/suites/nope.yaml: suite file not found"):
        load_suite("configs/suites/nope.yaml")
    assert load_suite("configs/suites/gopro.yaml").name == load_suite("gopro").name


def test_a_path_that_is_no_leaderboard_is_no_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such leaderboard folder"):
        load_leaderboard(str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="leaderboard definition not found"):
        load_leaderboard(tmp_path)


def test_leaderboard_command_suggests_the_shipped_board(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from lode_bench.cli.leaderboard import leaderboard_validate

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(leaderboard_validate, ["sampel"])
    assert r.exit_code == 2, r.output
    assert "did you mean 'sample'" in r.output and len(r.output.strip().splitlines()) == 1
