"""The one folder index and the one rule that pairs prediction files with sample ids.

Every command that reads a folder of images by name (``score``, the ``folder:`` dataset
loader, the ``folder=DIR`` model adapter, ``align``) indexes it with :func:`index_images`
and, for predictions, pairs the index with the ground-truth ids through
:func:`match_predictions`, so that two commands given the same folders can never pair
them differently.

An image's **id** is its path relative to the folder, without extension, with ``/``
separators (``GOPR0384_11_00/000001``). Two files with one id (``x.png`` and ``x.jpg``)
are refused. A prediction may be stored nested (``<seq>/<frame>.png``, the id itself) or
flat (``<seq>-<frame>.png`` or ``<seq>_<frame>.png``, the names the official test
scripts and the shipped example crops use; a leading ``blur_``/``gt_`` of the last part
may be left out). Flat names are matched against the known ground-truth ids, never split
blindly, and a name that could mean two ids is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io.header import read_header
from lode_bench.io.images import IMAGE_EXTENSIONS

#: Prediction formats that lose information (a note in the score summary).
LOSSY_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg")
_ROLE_PREFIX = re.compile(r"^(?:blur|blurry|gt|sharp)_", re.IGNORECASE)


class AmbiguousNameError(LodeBenchError):
    """Two files of a folder have one id, or one prediction name could mean two ids."""


def index_images(
    root: str | Path,
    recursive: bool = False,
    *,
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
    inside: str | Path | None = None,
) -> dict[str, Path]:
    """Index the image files of ``root`` by id (relative path without extension).

    Hidden files and folders (names starting with ``.``) are skipped.

    Args:
        root: the folder.
        recursive: descend into sub-folders (ids then contain ``/``).
        extensions: file extensions to index (lower case, with the dot).
        inside: when given, refuse files that resolve (through links) outside this folder.

    Returns:
        ``{id: path}`` in sorted id order.

    Raises:
        ImageReadError: ``root`` is not a folder.
        AmbiguousNameError: two files have one id (names both).
        LodeBenchError: a file resolves outside ``inside``.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise ImageReadError(folder, "folder not found")
    allowed = {e.lower() for e in extensions}
    base = Path(inside).resolve() if inside is not None else None
    found: dict[str, Path] = {}
    for p in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.suffix.lower() not in allowed or not p.is_file():
            continue
        key = rel.with_suffix("").as_posix()
        if key in found:
            raise AmbiguousNameError(
                f"{folder}: {found[key].relative_to(folder).as_posix()} and {rel.as_posix()} "
                f"give the same sample id {key!r} (ambiguous); keep one of them"
            )
        if base is not None:
            real = p.resolve()
            if base != real and base not in real.parents:
                raise LodeBenchError(
                    f"{p}: symbolic link leads out of the dataset root {inside} (to {real})"
                )
        found[key] = p
    return dict(sorted(found.items()))


def id_forms(sample_id: str) -> list[str]:
    """The names (without extension) under which a prediction for ``sample_id`` is accepted.

    The id itself first, then the flat forms: ``a/b/c`` -> ``a/b/c``, ``a-b-c``, ``a_b_c``,
    and the same with a leading role token of the last part (``blur_6`` -> ``6``) removed.
    """
    parts = sample_id.split("/")
    lasts = [parts[-1]]
    stripped = _ROLE_PREFIX.sub("", parts[-1])
    if stripped and stripped != parts[-1]:
        lasts.append(stripped)
    forms: list[str] = []
    for last in lasts:
        p = [*parts[:-1], last]
        for sep in ("/", "-", "_"):
            form = sep.join(p)
            if form not in forms:
                forms.append(form)
    return forms


@dataclass
class PredictionMatch:
    """Predictions paired with ground-truth ids.

    Attributes:
        found: ground-truth id -> prediction file.
        missing: ground-truth ids without a prediction, in the order given.
        extra: prediction ids that match no ground-truth id.
    """

    found: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def match_predictions(
    preds: dict[str, Path], gt_ids: Sequence[str], *, where: str | Path = ""
) -> PredictionMatch:
    """Pair an index of prediction files (:func:`index_images`) with ground-truth ids.

    A prediction whose id equals a ground-truth id pairs with it; otherwise its id is
    looked up among the other accepted forms (:func:`id_forms`) of every ground-truth id.

    Args:
        preds: prediction id -> file.
        gt_ids: the ground-truth ids (they define the image set).
        where: the prediction folder, named in errors.

    Raises:
        AmbiguousNameError: one prediction name is a form of two ground-truth ids, or two
            prediction files are forms of one id (names both).
    """
    exact = set(gt_ids)
    by_form: dict[str, list[str]] = {}
    for gid in gt_ids:
        for form in id_forms(gid)[1:]:
            if form not in exact:
                by_form.setdefault(form, []).append(gid)
    out = PredictionMatch()
    for pid, path in preds.items():
        if pid in exact:
            gid = pid
        elif pid in by_form:
            cands = by_form[pid]
            if len(cands) > 1:
                raise AmbiguousNameError(
                    f"{where}: ambiguous prediction {_shown(path, where)}: it could be the output of "
                    f"{cands[0]!r} or of {cands[1]!r}; store it as <id>.png "
                    "(nested folders) to say which"
                )
            gid = cands[0]
        else:
            out.extra.append(pid)
            continue
        if gid in out.found:
            raise AmbiguousNameError(
                f"{where}: ambiguous predictions: {_shown(out.found[gid], where)} and "
                f"{_shown(path, where)} are both outputs for {gid!r}; keep one of them"
            )
        out.found[gid] = path
    out.missing = [g for g in gt_ids if g not in out.found]
    return out


def _shown(path: Path, where: str | Path) -> str:
    """``path`` relative to ``where`` when it lies inside, else its name."""
    try:
        return path.relative_to(where).as_posix() if where else path.name
    except ValueError:
        return path.name


def no_pairs_message(
    pred_dir: str | Path, gt_ids: Sequence[str], preds: dict[str, Path], gt_where: str | Path
) -> str:
    """Why nothing paired: the accepted id forms and one example of each side."""
    example = gt_ids[0] if gt_ids else "?"
    forms = " or ".join(f"{f}.png" for f in id_forms(example)) if gt_ids else "<id>.png"
    pred_example = next(iter(preds.values()), None)
    seen = (
        f"e.g. {_shown(pred_example, pred_dir)}" if pred_example is not None else "no image files"
    )
    return (
        f"{pred_dir}: no prediction matches a ground-truth id of {gt_where} "
        f"(ground-truth ids look like {example!r}, so a prediction is expected as {forms}; "
        f"the prediction folder has {seen})"
    )


def is_lossy(path: str | Path) -> bool:
    """True for an image format that loses information (JPEG)."""
    return Path(path).suffix.lower() in LOSSY_EXTENSIONS


def colour_channels(path: str | Path) -> int:
    """Colour channels a file declares: 1 for grey (with or without alpha), 3 for colour.

    Raises:
        ImageReadError: the file cannot be read or its header is not an image header.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageReadError(p, f"cannot read file ({exc.strerror or exc})") from None
    return 1 if read_header(p, data).channels in (1, 2) else 3
