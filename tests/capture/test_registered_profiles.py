"""Camera-profile references: resolved by capture/profiles.py only; loops are ConfigErrors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lode_bench.capture.profiles as profiles
from lode_bench.capture.profiles import list_profiles, load_profile, resolve_response
from lode_bench.capture.response import response_from_spec
from lode_bench.errors import ConfigError, UnknownNameError


@pytest.fixture
def profile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    monkeypatch.setattr(profiles, "profiles_dir", lambda: d)
    return d


def test_profile_naming_itself_is_a_config_error(profile_dir: Path) -> None:
    (profile_dir / "selfish.yaml").write_text("name: selfish\nresponse: profile:selfish\n")
    with pytest.raises(
        ConfigError,
        match=r"selfish\.yaml: response 'profile:selfish': .*loop \(selfish -> selfish\)",
    ):
        load_profile("selfish")
    with pytest.raises(ConfigError, match=r"loop \(selfish -> selfish\)"):
        resolve_response("profile:selfish")


def test_profiles_naming_each_other_are_a_config_error(profile_dir: Path) -> None:
    (profile_dir / "a.yaml").write_text("response: profile:b\n")
    (profile_dir / "b.yaml").write_text("response: profile:c\n")
    (profile_dir / "c.yaml").write_text("response: profile:b\n")
    with pytest.raises(ConfigError, match=r"loop \(b -> c -> b\)") as err:
        load_profile("a")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(
        f"{(profile_dir / 'c.yaml').resolve()}: response 'profile:b'"
    )


def test_a_chain_of_profiles_resolves(profile_dir: Path) -> None:
    (profile_dir / "cam.yaml").write_text(
        "response: profile:curve\nnoise: {beta1: 0.001, beta2: 0.002}\n"
    )
    (profile_dir / "curve.yaml").write_text("response: gamma-2.4\n")
    cam = load_profile("cam")
    assert (
        cam.response.kind == "gamma" and cam.response.gamma == 2.4 and cam.noise["beta1"] == 0.001
    )
    assert resolve_response("profile:cam") == cam.response
    # the same profile twice on different branches is no loop
    (profile_dir / "twice.yaml").write_text("response: profile:cam\n")
    assert load_profile("twice").response.gamma == 2.4
    with pytest.raises(UnknownNameError, match="unknown camera profile 'nothere'"):
        resolve_response("profile:nothere")


def test_response_module_knows_no_profiles() -> None:
    assert "srgb" in list_profiles()
    assert resolve_response("profile:srgb").kind == "srgb"
    assert resolve_response("gamma-2.2").gamma == 2.2
    with pytest.raises(ConfigError, match="response: unknown value 'profile:srgb'"):
        response_from_spec("profile:srgb")
    tree = ast.parse((Path(profiles.__file__).parent / "response.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any("profiles" in str(m) for m in imported), imported


def test_recipe_response_names_a_profile_through_profiles(profile_dir: Path) -> None:
    from lode_bench.synth.recipes import validate_recipe

    (profile_dir / "loopy.yaml").write_text("response: profile:loopy\n")
    (profile_dir / "g24.yaml").write_text("response: gamma-2.4\n")
    ok = validate_recipe({"kind": "global", "response": "profile:g24"})
    assert ok.response().gamma == 2.4
    with pytest.raises(ConfigError, match="loop"):
        validate_recipe({"kind": "global", "response": "profile:loopy"}).response()
