"""A regular (non-editable) install carries the suites, recipes, camera profiles and
leaderboards, and finds them by name from a folder outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.egg-info", "build", "dist")


def _tracked_files() -> list[Path]:
    """Every file of the source tree that is an asset (what the wheel must carry)."""
    out = []
    for folder in ("configs", "capture", "leaderboards"):
        out += [
            p.relative_to(ROOT)
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
        ]
    return sorted(out)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the source tree (the checkout stays untouched)."""
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("lode_bench", "configs", "capture", "leaderboards"):
        shutil.copytree(ROOT / folder, src / folder, ignore=SKIP)
    out = tmp / "dist"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(src),
            "-w",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    (found,) = out.glob("lode_bench-*.whl")
    return found


def test_wheel_carries_every_asset(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"lode_bench/_assets/{p.as_posix()}" for p in _tracked_files()}
    assert expected <= names, sorted(expected - names)[:10]
    for must in (
        "lode_bench/_assets/configs/suites/gopro.yaml",
        "lode_bench/_assets/configs/synth/gopro.yaml",
        "lode_bench/_assets/capture/profiles/gamma22.yaml",
        "lode_bench/_assets/leaderboards/sample/leaderboard.yaml",
        "lode_bench/_assets/leaderboards/lode-local/leaderboard.yaml",
        "lode_bench/data/models/lode-tiny.md",
    ):
        assert must in names, must
    assert not any(n.startswith(("configs/", "leaderboards/", "capture/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_resolves_names_outside_the_tree(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "LODE_DATA": "/data", "LODE_WEIGHTS": "/w"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lode_bench.cli", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    probe = subprocess.run(
        [sys.executable, "-c", "import lode_bench; print(lode_bench.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert Path(probe.stdout.strip()).is_relative_to(site), probe.stdout  # the installed copy
    r = cli("ls", "suites")
    assert r.returncode == 0 and "gopro" in r.stdout and "synthetic-classical" in r.stdout, r
    r = cli("ls", "leaderboards")
    assert r.returncode == 0 and "sample" in r.stdout and "lode-local" in r.stdout, r
    r = cli("leaderboard", "validate", "sample")
    assert r.returncode == 0 and "accepted identity.json" in r.stdout, r
    load = (
        "import sys; from lode_bench.bench.suite import load_suite; "
        "from lode_bench.synth.recipes import load_recipe; "
        "from lode_bench.capture.profiles import load_profile; "
        "print(load_suite(sys.argv[1]).name, load_suite(sys.argv[2]).name, "
        "load_recipe('gopro').name, load_profile('gamma22').name)"
    )
    r = subprocess.run(
        [sys.executable, "-c", load, "gopro", "configs/suites/gopro.yaml"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["gopro", "gopro", "gopro", "gamma22"]
