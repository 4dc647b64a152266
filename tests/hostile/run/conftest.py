"""Fixtures of the hostile-input tests (helpers live in ``hostile_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import Cli, write_dataset


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds")
