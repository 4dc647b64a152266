"""Finding blurry/sharp pairs in an input folder, paired by file name (never by order).

Accepted layouts::

    <in>/blur/*.png   + <in>/sharp/*.png          (flat; scene "")
    <in>/<scene>/blur/*.png + <in>/<scene>/sharp/*.png

``gt`` is accepted in place of ``sharp``. Files are paired by a *name key*: the file
stem with a role token removed, so ``blur_3.png`` ↔ ``gt_3.png`` (RealBlur) and
``07_blur.png`` ↔ ``07_sharp.png`` (ReLoBlur) pair as well as ``0001.png`` ↔
``0001.png``. Names present on one side only are reported, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lode_bench.errors import LodeBenchError
from lode_bench.io.folders import index_images

BLUR_DIRS: tuple[str, ...] = ("blur",)
SHARP_DIRS: tuple[str, ...] = ("sharp", "gt")
_ROLE = re.compile(r"^(?:blur|blurry|sharp|gt)[_-]|[_-](?:blur|blurry|sharp|gt)$", re.IGNORECASE)


class PairingError(LodeBenchError):
    """The input folder has no recognisable layout or ambiguous file names."""


@dataclass(frozen=True)
class Pair:
    """One blurry/sharp pair.

    Attributes:
        scene: scene folder name (``""`` for the flat layout).
        key: name key shared by both files.
        blur, sharp: paths of the two files.
    """

    scene: str
    key: str
    blur: Path
    sharp: Path

    @property
    def pair_id(self) -> str:
        """Sample id in the output dataset: ``<scene>/<key>`` (or ``<key>``)."""
        return f"{self.scene}/{self.key}" if self.scene else self.key


@dataclass
class PairSet:
    """Pairs found, in (scene, key) order, and the names that have no partner."""

    pairs: list[Pair] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def scenes(self) -> dict[str, list[Pair]]:
        out: dict[str, list[Pair]] = {}
        for p in self.pairs:
            out.setdefault(p.scene, []).append(p)
        return out


def name_key(path: Path) -> str:
    """The pairing key of a file: its stem without a leading/trailing role token."""
    return _ROLE.sub("", path.stem) or path.stem


def _role_dir(folder: Path, names: tuple[str, ...]) -> Path | None:
    for n in names:
        if (folder / n).is_dir():
            return folder / n
    return None


def _keyed(folder: Path) -> dict[str, Path]:
    """name key -> file, from the one folder index (two files with one id are refused)."""
    try:
        files = index_images(folder)
    except LodeBenchError as exc:
        raise PairingError(str(exc)) from None
    out: dict[str, Path] = {}
    for p in files.values():
        k = name_key(p)
        if k in out:
            raise PairingError(
                f"{folder}: files {out[k].name} and {p.name} have the same name key {k!r}"
            )
        out[k] = p
    return out


def _pair_folder(folder: Path, scene: str, result: PairSet) -> None:
    bdir, sdir = _role_dir(folder, BLUR_DIRS), _role_dir(folder, SHARP_DIRS)
    if bdir is None or sdir is None:
        return
    blur, sharp = _keyed(bdir), _keyed(sdir)
    for k in sorted(set(blur) | set(sharp)):
        if k in blur and k in sharp:
            result.pairs.append(Pair(scene=scene, key=k, blur=blur[k], sharp=sharp[k]))
        elif k in blur:
            result.unmatched.append(f"{blur[k]}: no sharp partner named like {k!r} in {sdir}")
        else:
            result.unmatched.append(f"{sharp[k]}: no blurry partner named like {k!r} in {bdir}")


def find_pairs(root: str | Path) -> PairSet:
    """Discover the pairs under ``root`` (see the module docstring for layouts).

    Raises:
        PairingError: when ``root`` is missing or holds neither layout, or when two
            files of one folder share a name key.
    """
    root = Path(root)
    if not root.is_dir():
        raise PairingError(f"{root}: input folder not found")
    result = PairSet()
    if _role_dir(root, BLUR_DIRS) and _role_dir(root, SHARP_DIRS):
        _pair_folder(root, "", result)
    else:
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            _pair_folder(sub, sub.name, result)
    if not result.pairs and not result.unmatched:
        raise PairingError(
            f"{root}: no pairs found; expected <in>/blur + <in>/sharp (or gt), "
            "or <in>/<scene>/blur + <in>/<scene>/sharp"
        )
    return result
