"""Provenance recorded with every run: package versions and the git commit."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "lode-bench",
    "numpy",
    "torch",
    "torchvision",
    "opencv-python-headless",
    "scikit-image",
    "scipy",
    "lpips",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a number."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    # The OpenCV library itself, whichever wheel brought it (opencv-python, -contrib, a
    # system build): RealBlur-aligned numbers depend on it.
    import cv2

    out["opencv"] = str(cv2.__version__)
    return out


def git_hash() -> str | None:
    """Commit of the lode-bench source tree (with ``-dirty`` when modified), if it is a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None
