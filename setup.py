"""Build hook: the wheel carries the shipped assets inside the package.

``configs/``, ``capture/`` and ``leaderboards/`` at the top of the source tree stay the
only edited copy; building a wheel copies them to ``lode_bench/_assets/`` so that a
regular install finds suites, recipes, camera profiles and leaderboards by name from any
folder (see ``lode_bench/resources.py``). Editable installs read the tree itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ASSET_FOLDERS = ("configs", "capture", "leaderboards")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithAssets(build_py):
    """``build_py`` that also copies the asset folders into ``lode_bench/_assets``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "lode_bench" / "_assets"
        for name in ASSET_FOLDERS:
            src = ROOT / name
            if not src.is_dir():
                raise SystemExit(f"{src}: asset folder missing from the source tree")
            dst = target / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithAssets})
