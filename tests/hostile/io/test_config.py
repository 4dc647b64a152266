"""Hostile and broken configuration files through the CLI: YAML bombs refused at once,
invalid YAML and wrong types reported in one line naming the file and the key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile.io.hostile_cli import (
    REPO,
    assert_one_line_error,
    billion_laughs,
    indent,
    run_cli,
)

pytestmark = pytest.mark.timeout(300)

BOMB = billion_laughs()  # 9**9 = 387 million strings once expanded


def _suite(tmp: Path, body: str) -> Path:
    p = tmp / "suite.yaml"
    p.write_text(body)
    return p


def _run_suite(tmp: Path, body: str, timeout: float = 60):
    return run_cli(
        "run",
        "--suite",
        str(_suite(tmp, body)),
        "--store",
        str(tmp / "r.sqlite"),
        "-q",
        timeout=timeout,
    )


# --------------------------------------------------------------------------- YAML bombs
def test_recipe_yaml_bomb_is_refused_quickly(tmp_path: Path) -> None:
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text("kind: global\nseed:\n" + indent(BOMB))
    res = run_cli("synth", str(recipe), "--out", str(tmp_path / "out"), timeout=60)
    assert_one_line_error(res, str(recipe), "YAML bomb")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_suite_yaml_bomb_is_refused_quickly(tmp_path: Path) -> None:
    res = _run_suite(tmp_path, "models: [identity]\ndatasets: [x]\nname:\n" + indent(BOMB))
    assert_one_line_error(res, "suite.yaml", "YAML bomb")


def test_leaderboard_yaml_bomb_is_refused_quickly(tmp_path: Path) -> None:
    root = tmp_path / "board"
    root.mkdir()
    (root / "leaderboard.yaml").write_text("name: b\ntitle:\n" + indent(BOMB))
    res = run_cli("leaderboard", "validate", str(root), timeout=60)
    assert_one_line_error(res, "leaderboard.yaml", "YAML bomb", code=2)


def test_profile_yaml_bomb_and_recursive_alias_are_refused(tmp_path: Path) -> None:
    prof = tmp_path / "cam.yaml"
    prof.write_text("name: cam\nnotes:\n" + indent(BOMB))
    code = (
        "from lode_bench.capture.profiles import load_profile\n"
        "from lode_bench.errors import ConfigError\n"
        "import sys\n"
        "try:\n    load_profile(__import__('pathlib').Path(sys.argv[1]))\n"
        "except ConfigError as e:\n    print('error:', e, file=sys.stderr); sys.exit(2)\n"
    )
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource;resource.setrlimit(resource.RLIMIT_AS,(3<<30,3<<30))\n" + code,
            str(prof),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert p.returncode == 2 and "YAML bomb" in p.stderr and "Traceback" not in p.stderr, p.stderr
    recursive = tmp_path / "rec.yaml"
    recursive.write_text("kind: global\nseed: &a [1, *a]\n")
    res = run_cli("synth", str(recursive), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "rec.yaml", "recursive")


# --------------------------------------------------------------------------- invalid YAML
@pytest.mark.parametrize(
    "text",
    [
        "kind: global\nseed: [1, 2\n",
        "kind: global\n  bad: indent\n",
        "kind: global\n\tseed: 1\n",
        "a: 1\n---\nb: 2\n",
    ],
)
def test_invalid_yaml_is_one_line_with_file_and_position(tmp_path: Path, text: str) -> None:
    recipe = tmp_path / "broken.yaml"
    recipe.write_text(text)
    res = run_cli("synth", str(recipe), "--out", str(tmp_path / "o"))
    line = assert_one_line_error(res, str(recipe), "invalid YAML")
    assert "line " in line
    assert res.stderr.strip().count("\n") == 0, res.stderr  # the message is exactly one line


# --------------------------------------------------------------------------- recipes
@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("response: {kind: gamma, gamma: x}", "'response'"),
        ("response: {kind: table, path: 5}", "'response'"),
        ("tracks: {blur: {kind: gamma, gamma: [1]}}", "'tracks'"),
        ("response: {kind: srgb, extrapolate: [1]}", "'response'"),
    ],
)
def test_recipe_bad_response_values_are_one_line(tmp_path: Path, body: str, key: str) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"kind: global\n{body}\n")
    res = run_cli("synth", str(recipe), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, str(recipe), key)


def test_profile_names_cannot_leave_the_profile_folder(tmp_path: Path) -> None:
    from lode_bench.capture.profiles import profiles_dir

    evil = tmp_path / "evil.yaml"  # a valid profile outside capture/profiles
    evil.write_text("name: evil\nresponse: srgb\n")
    rel = os.path.relpath(evil.with_suffix(""), profiles_dir())
    assert rel.startswith("..")
    for ref in (f"profile:{rel}", f"profile:{evil.with_suffix('')}", "profile:../../x"):
        recipe = tmp_path / "r.yaml"
        recipe.write_text(f"kind: global\nresponse: '{ref}'\n")
        res = run_cli("synth", str(recipe), "--out", str(tmp_path / "o"))
        assert_one_line_error(res, str(recipe), "must be a plain name")
    noise = tmp_path / "n.yaml"
    noise.write_text(f"kind: global\ndegradations: {{noise: 'profile:{rel}'}}\n")
    res = run_cli("synth", str(noise), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, str(noise), "must be a plain name")


# --------------------------------------------------------------------------- suites
@pytest.mark.parametrize(
    ("body", "needles"),
    [
        (
            "models: [{name: identity, seed: x}]\ndatasets: [x]\nprotocols: [gopro]\n",
            ("models[0].seed", "int"),
        ),
        (
            "models: [identity]\ndatasets: [x]\nprotocols: [gopro]\nsettings: {limit: [1]}\n",
            ("settings.limit",),
        ),
        (
            "models: [{name: identity, label: [a, b]}]\ndatasets: [x]\nprotocols: [gopro]\n",
            ("models[0].label",),
        ),
        (
            "models: [identity]\ndatasets: [{spec: 'x', protocols: gopro}]\n",
            ("datasets[0].protocols", "list of protocol names"),
        ),
        (
            "models: [identity]\ndatasets: [x]\nprotocols: [gopro]\nsettings: {amp: maybe}\n",
            ("settings.amp",),
        ),
        (
            "models: [identity]\ndatasets: [{spec: [x]}]\nprotocols: [gopro]\n",
            ("datasets[0].spec",),
        ),
    ],
)
def test_suite_wrong_types_are_one_line_naming_the_key(
    tmp_path: Path, body: str, needles: tuple[str, ...]
) -> None:
    res = _run_suite(tmp_path, body)
    assert_one_line_error(res, "suite.yaml", *needles)
    assert not (tmp_path / "r.sqlite").exists()  # refused before any run started


# --------------------------------------------------------------------------- leaderboards
def test_unknown_leaderboard_protocol_and_metric_are_one_line(tmp_path: Path) -> None:
    import yaml

    root = tmp_path / "board"
    root.mkdir()
    doc = {
        "name": "b",
        "protocol": {"name": "gopr0", "version": "1"},
        "metrics": ["PSNR"],
        "ranking": {"metric": "PSNR"},
        "datasets": [{"name": "d", "manifest_hash": "h", "image_ids": ["a"]}],
    }
    (root / "leaderboard.yaml").write_text(yaml.safe_dump(doc))
    res = run_cli("leaderboard", "validate", str(root))
    assert_one_line_error(res, "leaderboard.yaml", "protocol.name 'gopr0'", "gopro", code=2)
    doc["protocol"]["name"] = "gopro"
    doc["metrics"] = ["PSNR", "FID"]
    (root / "leaderboard.yaml").write_text(yaml.safe_dump(doc))
    res = run_cli("leaderboard", "validate", str(root))
    assert_one_line_error(res, "leaderboard.yaml", "'FID' is not a column", code=2)
    doc["metrics"] = ["PSNR"]
    doc["datasets"][0]["image_ids"] = [{"a": 1}]
    (root / "leaderboard.yaml").write_text(yaml.safe_dump(doc))
    res = run_cli("leaderboard", "validate", str(root))
    assert_one_line_error(res, "leaderboard.yaml", "datasets[0]: image_ids", code=2)


# --------------------------------------------------------------------------- manifests
@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([1, 2, 3], "expected a JSON object"),
        (
            {"format": "lode-bench-dataset", "samples": [{"id": "a", "files": ["blur.png"]}]},
            "samples[0].files",
        ),
        (
            {"format": "lode-bench-dataset", "samples": [{"id": ["a"], "files": {}}]},
            "samples[0].id",
        ),
        ({"format": "lode-bench-dataset", "meta": [1], "samples": []}, "meta"),
    ],
)
def test_malformed_manifest_structure_is_one_line(tmp_path: Path, doc, needle: str) -> None:
    from lode_bench.datasets.manifest import FORMAT

    if isinstance(doc, dict):
        doc["format"] = FORMAT
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_text(json.dumps(doc))
    res = run_cli(
        "run",
        "-m",
        "identity",
        "-d",
        str(ds),
        "-p",
        "basicsr",
        "--store",
        str(tmp_path / "r.sqlite"),
        "-q",
    )
    assert_one_line_error(res, "manifest.json", needle)


def test_deeply_nested_manifest_is_one_line(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_text("[" * 200000 + "]" * 200000)
    res = run_cli(
        "run",
        "-m",
        "identity",
        "-d",
        str(ds),
        "-p",
        "basicsr",
        "--store",
        str(tmp_path / "r.sqlite"),
        "-q",
    )
    assert_one_line_error(res, "manifest.json")
