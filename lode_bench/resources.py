"""Where the project's shipped assets live: recipes (``configs/synth``), suites
(``configs/suites``), camera profiles (``capture/``) and leaderboard definitions
(``leaderboards/``), and how a name or a repository-relative path finds them.

The top-level folders of the source tree are the only copy that is edited. A source
checkout (``pip install -e .`` or running from the tree) reads them there. A wheel
carries a copy inside the package, ``lode_bench/_assets/<folder>/`` (``setup.py`` copies
them at build time), so a regular install finds them from any working folder. Older
installs put them under ``<prefix>/share/lode-bench/``, which is still looked at last.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

from lode_bench.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE.parent
#: The folders copied into the wheel (relative to the source tree's root).
ASSET_FOLDERS = ("configs", "capture", "leaderboards")


def _is_checkout(root: Path) -> bool:
    """``root`` is lode-bench's source tree (not, e.g., a ``site-packages`` folder)."""
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return False
    return 'name = "lode-bench"' in text


def asset_dir(*parts: str) -> Path:
    """The shipped asset folder ``parts`` (e.g. ``asset_dir("configs", "synth")``).

    Returns the checkout's folder when it exists, else the copy inside the installed
    package, else an older install's copy under ``<prefix>/share/lode-bench``; the
    checkout path when none exists (so error messages name the expected place).
    """
    local = _SOURCE_ROOT.joinpath(*parts)
    if local.is_dir() and _is_checkout(_SOURCE_ROOT):
        return local
    packaged = _PACKAGE.joinpath("_assets", *parts)
    if packaged.is_dir():
        return packaged
    for prefix in (sys.prefix, sysconfig.get_config_var("userbase") or ""):
        installed = Path(prefix, "share", "lode-bench", *parts)
        if prefix and installed.is_dir():
            return installed
    return local


def list_suites() -> dict[str, Path]:
    """Shipped suite name -> file (``configs/suites/<name>.yaml``)."""
    d = asset_dir("configs", "suites")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def list_leaderboards() -> dict[str, Path]:
    """Shipped leaderboard name -> folder (``leaderboards/<name>/leaderboard.yaml``)."""
    d = asset_dir("leaderboards")
    if not d.is_dir():
        return {}
    return {p.name: p for p in sorted(d.iterdir()) if (p / "leaderboard.yaml").is_file()}


def _shipped_path(text: str) -> Path | None:
    """``configs/suites/gopro.yaml`` (a path inside the source tree) in the shipped copy."""
    parts = Path(text).parts
    if Path(text).is_absolute() or len(parts) < 2 or parts[0] not in ASSET_FOLDERS or ".." in parts:
        return None
    candidate = asset_dir(*parts[:-1]) / parts[-1]
    return candidate if candidate.exists() else None


#: How messages name a benchmark suite (``unknown suite 'x'``).
SUITE_KIND = "suite"


def find_suite(text: str | Path) -> Path:
    """A suite file from a path (as given, else inside the shipped copy) or a shipped name.

    ``gopro``, ``gopro.yaml`` and ``configs/suites/gopro.yaml`` all find the shipped
    suite from any working folder; a file of that name in the working folder wins.

    Raises:
        UnknownNameError: no suite of that name (``did you mean``, and the shipped suites).
        ConfigError: a path to a YAML file that does not exist.
    """
    from lode_bench.io.yamlfile import resolve_config_path

    p = Path(text)
    if p.is_file():
        return p
    shipped = _shipped_path(str(text))
    if shipped is not None and shipped.is_file():
        return shipped
    name = p.stem if p.suffix in (".yaml", ".yml") and len(p.parts) == 1 else str(text)
    return resolve_config_path(name, kind=SUITE_KIND, search_dirs=[asset_dir("configs", "suites")])


def find_leaderboard(text: str | Path) -> Path | None:
    """A leaderboard folder from a path (as given, else inside the shipped copy) or a
    shipped name; ``None`` when nothing matches."""
    p = Path(text)
    if p.is_dir():
        return p
    shipped = _shipped_path(str(text))
    if shipped is not None and shipped.is_dir():
        return shipped
    return list_leaderboards().get(str(text))


def leaderboard_root(text: str | Path) -> Path:
    """Like :func:`find_leaderboard`, but a name that finds nothing is an error.

    Raises:
        UnknownNameError: a plain name that is no shipped leaderboard (``did you mean``,
            and the shipped ones).
        ConfigError: a path that is not a leaderboard folder.
    """
    from lode_bench.io.yamlfile import unknown_name_error

    found = find_leaderboard(text)
    if found is not None:
        return found
    if isinstance(text, str) and len(Path(text).parts) == 1:
        raise unknown_name_error("leaderboard", text, list_leaderboards())
    raise ConfigError(f"{text}: no such leaderboard folder")
