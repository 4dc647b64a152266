"""The shared "name or path → YAML mapping → unknown keys named" loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from lode_bench.errors import ConfigError, UnknownNameError
from lode_bench.io.yamlfile import list_config_names, load_yaml_config, resolve_config_path


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    d = tmp_path / "shipped"
    d.mkdir()
    (d / "alpha.yaml").write_text("name: alpha\nsize: 3\n")
    (d / "beta.yaml").write_text("- not\n- a mapping\n")
    return d


def test_name_is_looked_up_and_path_read_as_is(shipped: Path, tmp_path: Path) -> None:
    assert load_yaml_config("alpha", kind="widget", search_dirs=[shipped]) == {
        "name": "alpha",
        "size": 3,
    }
    own = tmp_path / "own.yml"
    own.write_text("size: 4\n")
    assert load_yaml_config(str(own), kind="widget", search_dirs=[shipped]) == {"size": 4}
    assert resolve_config_path(own, kind="widget") == own
    assert list_config_names([shipped, tmp_path / "absent"]) == ["alpha", "beta"]


def test_unknown_name_lists_known(shipped: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown widget 'gamma' \(known: alpha, beta\)"):
        load_yaml_config("gamma", kind="widget", search_dirs=[shipped])
    with pytest.raises(UnknownNameError, match="unknown widget"):  # never a path outside the folder
        load_yaml_config("../shipped/alpha", kind="widget", search_dirs=[shipped / "sub"])


def test_missing_path_object_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: widget file not found"):
        load_yaml_config(tmp_path / "nope.yaml", kind="widget")
    with pytest.raises(ConfigError, match=r"nope.yml: widget file not found"):
        load_yaml_config(str(tmp_path / "nope.yml"), kind="widget")


def test_unknown_keys_named_with_file(shipped: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_yaml_config("alpha", kind="widget", search_dirs=[shipped], known_keys={"name"})
    msg = str(exc.value)
    assert "alpha.yaml" in msg and "unknown widget key(s) 'size'" in msg and "known: name" in msg


def test_not_a_mapping_refused(shipped: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"beta.yaml: a widget must be a mapping, got list"):
        load_yaml_config("beta", kind="widget", search_dirs=[shipped])
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_yaml_config(empty, kind="widget", known_keys={"name"}) == {}


def test_recipes_go_through_the_loader(tmp_path: Path) -> None:
    from lode_bench.synth.recipes import load_recipe

    p = tmp_path / "r.yaml"
    p.write_text("kind: global\nframez: {}\n")
    with pytest.raises(ConfigError, match=r"r.yaml: unknown synthesis recipe key\(s\) 'framez'"):
        load_recipe(p)


def test_shipped_name_cannot_link_out(shipped: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("token: 1\n")
    (shipped / "leak.yaml").symlink_to(secret)
    with pytest.raises(ConfigError, match="leaves its folder"):
        load_yaml_config("leak", kind="widget", search_dirs=[shipped])
