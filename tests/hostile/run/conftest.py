"""Fixtures of the hostile-input tests (helpers live in ``hostile_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.run.hostile_helpers import Cli, mount_tmpfs, umount, write_dataset


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash-verification cache inside the test's folder."""
    monkeypatch.setenv("LODE_BENCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 4 MiB tmpfs (skips where mounting is not permitted)."""
    mnt = tmp_path / "small"
    if not mount_tmpfs(mnt, "4m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    umount(mnt)
