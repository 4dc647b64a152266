"""Where the project's shipped assets live: recipes (``configs/``), camera profiles
(``capture/``) and leaderboard definitions (``leaderboards/``).

In a source checkout (``pip install -e .``) they are the top-level folders next to the
package. A regular wheel install copies them to ``<prefix>/share/lode-bench/`` (see
``[tool.setuptools.data-files]`` in ``pyproject.toml``).
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def asset_dir(*parts: str) -> Path:
    """The shipped asset folder ``parts`` (e.g. ``asset_dir("configs", "synth")``).

    Returns the checkout's folder when it exists, else the installed copy under
    ``<prefix>/share/lode-bench``; the checkout path when neither exists (so error
    messages name the expected place).
    """
    local = _SOURCE_ROOT.joinpath(*parts)
    if local.is_dir():
        return local
    for prefix in (sys.prefix, sysconfig.get_config_var("userbase") or ""):
        installed = Path(prefix, "share", "lode-bench", *parts)
        if prefix and installed.is_dir():
            return installed
    return local
