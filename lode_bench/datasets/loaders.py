"""Loaders for the public deblurring datasets' own folder layouts.

Each loader pairs files **by identity** (name or list file), never by listing order,
reports every unpaired file, and compares counts with the official release (a
difference is a warning, so subsets still load). Layouts: PROTOCOLS.md §2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from lode_bench.datasets.types import DatasetError, DatasetIndex, Sample, listing_hash
from lode_bench.errors import LodeBenchError
from lode_bench.io import IMAGE_EXTENSIONS, safe_join
from lode_bench.io.folders import index_images

MAX_LISTED = 20

# Official test-split sizes, for count warnings.
OFFICIAL_COUNTS: dict[tuple[str, str], int] = {
    ("gopro", "test"): 1111,
    ("gopro", "train"): 2103,
    ("hide", "test"): 2025,
    ("realblur-j", "test"): 980,
    ("realblur-j", "train"): 3758,
    ("realblur-r", "test"): 980,
    ("realblur-r", "train"): 3758,
    ("reloblur", "test"): 395,
    ("reloblur", "train"): 2010,
    ("lode", "test"): 3700,
    ("rsblur", "test"): 3360,
    ("bsd", "test"): 3000,
    ("bsd", "train"): 6000,
}


def _add_image(out: dict[str, Path], key: str, p: Path, folder: Path, root: Path | None) -> None:
    """``out[key] = p``, refusing two files for one id and files that resolve outside ``root``."""
    if key in out:
        raise DatasetError(
            f"{folder}: {out[key].name} and {p.name} give the same sample id {key!r}; "
            "keep one of them"
        )
    base = (root or folder).resolve()
    real = p.resolve()
    if base not in real.parents:
        raise DatasetError(
            f"{p}: symbolic link leads out of the dataset root {root or folder} (to {real})"
        )
    out[key] = p


def _images(folder: Path, root: Path | None = None) -> dict[str, Path]:
    """stem -> path of the images directly in ``folder`` (none may resolve outside ``root``)."""
    if not folder.is_dir():
        return {}
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            _add_image(out, p.stem, p, folder, root)
    return out


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} folder not found")
    return path


def _raise_problems(root: Path, kind: str, problems: list[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:MAX_LISTED])
        more = (
            f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        )
        raise DatasetError(
            f"{root}: {kind} dataset has {len(problems)} problem(s):\n  {shown}{more}"
        )


def _finish(
    kind: str,
    name: str,
    root: Path,
    samples: list[Sample],
    problems: list[str],
    split: str,
    count_key: str | None = None,
    *,
    content_hash: bool = False,
) -> DatasetIndex:
    _raise_problems(root, kind, problems)
    if not samples:
        raise DatasetError(
            f"{root}: no {kind} samples found (check the folder and the split {split!r})"
        )
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(f"{root}: duplicate sample ids {dup[:5]}")
    samples = sorted(samples, key=lambda s: s.id)
    warnings = []
    expected = OFFICIAL_COUNTS.get((count_key or kind, split))
    if expected is not None and len(samples) != expected:
        warnings.append(f"{len(samples)} {split} samples, the official release has {expected}")
    return DatasetIndex(
        name=name,
        kind=kind,
        root=str(root),
        samples=samples,
        version_hash=listing_hash(kind, root, samples, content=content_hash),
        warnings=warnings,
    )


def _pair(
    pairs: Iterable[tuple[str, Path | None, Path | None]],
    problems: list[str],
    **meta_of: Callable[[str], object],
) -> list[Sample]:
    out = []
    for sid, blur, sharp in pairs:
        if blur is None:
            problems.append(f"{sid}: ground truth {sharp} has no blurry image")
        elif sharp is None:
            problems.append(f"{sid}: blurry image {blur} has no ground truth")
        else:
            out.append(Sample(id=sid, blur=str(blur), sharp=str(sharp)))
    return out


def _match(
    a: dict[str, Path], b: dict[str, Path], prefix: str = ""
) -> list[tuple[str, Path | None, Path | None]]:
    return [(prefix + k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b))]


# -- GoPro ---------------------------------------------------------------------------
def load_gopro(
    root: str | Path, *, split: str = "test", track: str = "blur", content_hash: bool = False
) -> DatasetIndex:
    """GoPro (``GOPRO_Large/{train,test}/<sequence>/{blur,blur_gamma,sharp}/NNNNNN.png``).

    Args:
        root: ``GOPRO_Large`` (or its split folder).
        split: ``test`` or ``train``.
        track: ``blur`` (MPRNet-era tables) or ``blur_gamma`` (DeepDeblur's tables).
    """
    if track not in ("blur", "blur_gamma"):
        raise DatasetError(f"GoPro track must be 'blur' or 'blur_gamma', not {track!r}")
    root = Path(root)
    base = root / split if (root / split).is_dir() else root
    _require_dir(base, f"GoPro {split}")
    problems: list[str] = []
    samples: list[Sample] = []
    seqs = sorted(p for p in base.iterdir() if p.is_dir())
    for seq in seqs:
        if not (seq / "sharp").is_dir():
            problems.append(f"{seq}: sequence has no 'sharp' folder")
            continue
        if not (seq / track).is_dir():
            problems.append(f"{seq}: sequence has no {track!r} folder")
            continue
        m = re.search(r"_(\d+)_\d+$", seq.name)
        for s in _pair(
            _match(_images(seq / track, base), _images(seq / "sharp", base), f"{seq.name}/"),
            problems,
        ):
            samples.append(
                Sample(
                    s.id,
                    s.blur,
                    s.sharp,
                    meta={
                        "sequence": seq.name,
                        "n_frames": int(m.group(1)) if m else None,
                        "track": track,
                    },
                )
            )
    name = f"gopro-{split}" + ("-gamma" if track == "blur_gamma" else "")
    return _finish("gopro", name, base, samples, problems, split, content_hash=content_hash)


# -- HIDE / generic folder pairs ------------------------------------------------------
_BLUR_NAMES = ("blur", "input", "blurry", "lq")
_SHARP_NAMES = ("sharp", "target", "gt", "groundtruth", "hq")


def _find_sub(root: Path, names: tuple[str, ...]) -> Path | None:
    for n in names:
        for cand in (root / n, root / n.upper(), root / n.capitalize()):
            if cand.is_dir():
                return cand
    return None


def _walk_images(folder: Path, root: Path | None = None) -> dict[str, Path]:
    """relative id (posix, no extension) -> path, recursively (none may resolve outside ``root``)."""
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            _add_image(out, p.relative_to(folder).with_suffix("").as_posix(), p, folder, root)
    return out


def load_folder(
    root: str | Path, *, split: str = "test", kind: str = "folder", content_hash: bool = False
) -> DatasetIndex:
    """Any blur/sharp folder pair: ``root/{blur|input}/...`` and ``root/{sharp|target|gt}/...``
    (optional ``root/mask/...``), paired by relative path without extension. ``root`` may
    also be ``"BLUR_DIR,SHARP_DIR"``.
    """
    text = str(root)
    mask_dir: Path | None
    if "," in text:
        b_text, s_text = text.split(",", 1)
        blur_dir, sharp_dir, base, mask_dir = Path(b_text), Path(s_text), Path(b_text).parent, None
        _require_dir(blur_dir, "blurry")
        _require_dir(sharp_dir, "sharp")
    else:
        base = Path(root)
        if (base / split).is_dir() and _find_sub(base / split, _BLUR_NAMES):
            base = base / split
        _require_dir(base, "dataset")
        found_b, found_s = _find_sub(base, _BLUR_NAMES), _find_sub(base, _SHARP_NAMES)
        if found_b is None or found_s is None:
            raise DatasetError(
                f"{base}: expected sub-folders {'/'.join(_BLUR_NAMES)} and {'/'.join(_SHARP_NAMES)}"
            )
        blur_dir, sharp_dir = found_b, found_s
        mask_dir = _find_sub(base, ("mask", "masks"))
    problems: list[str] = []
    inside = None if "," in text else base
    try:  # the one folder index (score and the folder= model adapter use it too)
        blurs = index_images(blur_dir, recursive=True, inside=inside or blur_dir)
        sharps = index_images(sharp_dir, recursive=True, inside=inside or sharp_dir)
        masks = (
            index_images(
                mask_dir, recursive=True, extensions=(*IMAGE_EXTENSIONS, ".npy"), inside=base
            )
            if mask_dir is not None
            else {}
        )
    except LodeBenchError as exc:
        raise DatasetError(str(exc)) from None
    samples = _pair(_match(blurs, sharps), problems)
    if mask_dir is not None:
        with_mask = []
        for s in samples:
            if s.id not in masks:
                problems.append(f"{s.id}: no mask in {mask_dir}")
            else:
                with_mask.append(Sample(s.id, s.blur, s.sharp, mask=str(masks[s.id])))
        samples = with_mask
    return _finish(
        kind, f"{kind}-{base.name}", base, samples, problems, split, content_hash=content_hash
    )


def load_hide(root: str | Path, *, split: str = "test", content_hash: bool = False) -> DatasetIndex:
    """HIDE as most deblurring repositories lay it out: ``test/HIDE/{input,target}``."""
    root = Path(root)
    for cand in (root / split / "HIDE", root / "HIDE", root):
        if _find_sub(cand, _BLUR_NAMES) and _find_sub(cand, _SHARP_NAMES):
            return load_folder(cand, split=split, kind="hide", content_hash=content_hash)
    raise DatasetError(f"{root}: no HIDE input/target folders found")


# -- RealBlur -----------------------------------------------------------------------
def load_realblur(
    root: str | Path, *, variant: str = "J", split: str = "test", content_hash: bool = False
) -> DatasetIndex:
    """RealBlur-J/R. Uses ``RealBlur_{J,R}_{split}_list.txt`` (lines: GT path and blurry path,
    relative to ``root``) when present; otherwise pairs ``sceneNNN/blur/blur_K.png`` with
    ``sceneNNN/gt/gt_K.png`` in the variant's folder.
    """
    variant = variant.upper()
    if variant not in ("J", "R"):
        raise DatasetError(f"RealBlur variant must be J or R, not {variant!r}")
    root = Path(root)
    kind = f"realblur-{variant.lower()}"
    problems: list[str] = []
    samples: list[Sample] = []
    lst = root / f"RealBlur_{variant}_{split}_list.txt"
    if lst.is_file():
        for n, line in enumerate(lst.read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                problems.append(f"{lst}:{n}: expected two paths, got {line!r}")
                continue
            gt_rel = next((p for p in parts if "/gt/" in p), parts[0])
            blur_rel = next((p for p in parts if "/blur/" in p), parts[1])
            gt, blur = safe_join(root, gt_rel), safe_join(root, blur_rel)
            sid = Path(blur_rel).parent.parent.name + "/" + Path(blur_rel).stem
            for p in (gt, blur):
                if not p.is_file():
                    problems.append(f"{lst}:{n}: {p} not found")
            samples.append(
                Sample(sid, str(blur), str(gt), meta={"scene": Path(blur_rel).parent.parent.name})
            )
    else:
        folders = (
            sorted(
                p for p in root.iterdir() if p.is_dir() and p.name.startswith(f"RealBlur-{variant}")
            )
            if root.is_dir()
            else []
        )
        base = folders[0] if folders else root
        _require_dir(base, f"RealBlur-{variant}")
        for scene in sorted(p for p in base.iterdir() if p.is_dir()):
            blurs = {k.removeprefix("blur_"): v for k, v in _images(scene / "blur").items()}
            gts = {k.removeprefix("gt_"): v for k, v in _images(scene / "gt").items()}
            for s in _pair(_match(blurs, gts, f"{scene.name}/blur_"), problems):
                samples.append(Sample(s.id, s.blur, s.sharp, meta={"scene": scene.name}))
        root = base
    return _finish(
        kind, f"{kind}-{split}", root, samples, problems, split, content_hash=content_hash
    )


# -- ReLoBlur, LODE --------------------------------------------------------------------
def load_reloblur(
    root: str | Path, *, split: str = "test", content_hash: bool = False
) -> DatasetIndex:
    """ReLoBlur: ``dataset/<split>/<scene>/<NN>/NN_{blur,sharp}.png`` with masks at
    ``masks/<split>/<scene>/<NN>/NN.png`` (binary, ``> 0``)."""
    root = Path(root)
    base = _require_dir(root / "dataset" / split, f"ReLoBlur dataset/{split}")
    problems: list[str] = []
    samples: list[Sample] = []
    for blur in sorted(base.rglob("*_blur.png")):
        stem = blur.name[: -len("_blur.png")]
        sharp = blur.with_name(f"{stem}_sharp.png")
        rel = blur.parent.relative_to(base)
        mask = root / "masks" / split / rel / f"{stem}.png"
        sid = (rel / stem).as_posix()
        if not sharp.is_file():
            problems.append(f"{sid}: {sharp} not found")
        elif not mask.is_file():
            problems.append(f"{sid}: mask {mask} not found")
        else:
            samples.append(Sample(sid, str(blur), str(sharp), mask=str(mask)))
    for sharp in sorted(base.rglob("*_sharp.png")):
        if not sharp.with_name(sharp.name.replace("_sharp.png", "_blur.png")).is_file():
            problems.append(f"{sharp}: ground truth without a blurry image")
    return _finish(
        "reloblur", f"reloblur-{split}", root, samples, problems, split, content_hash=content_hash
    )


def load_lode(root: str | Path, *, split: str = "test", content_hash: bool = False) -> DatasetIndex:
    """LODE: ``val/{blur,sharp}/*.png`` with optical-flow masks ``localval/optical_mask/*.npy``
    (or PNG masks in ``val/mask``)."""
    root = Path(root)
    base = _require_dir(root / "val", "LODE val")
    problems: list[str] = []
    samples = _pair(_match(_images(base / "blur"), _images(base / "sharp")), problems)
    flow = root / "localval" / "optical_mask"
    out = []
    for s in samples:
        cands = [flow / f"{s.id}.npy", base / "mask" / f"{s.id}.png"]
        mask = next((c for c in cands if c.is_file()), None)
        if mask is None:
            problems.append(f"{s.id}: no mask ({cands[0]} or {cands[1]})")
        else:
            out.append(Sample(s.id, s.blur, s.sharp, mask=str(mask)))
    return _finish("lode", f"lode-{split}", root, out, problems, split, content_hash=content_hash)


# -- RSBlur, BSD, REDS -------------------------------------------------------------------
def load_rsblur(
    root: str | Path, *, split: str = "test", track: str = "real", content_hash: bool = False
) -> DatasetIndex:
    """RSBlur: ``<scene>/<id>/{real_blur/real_blur.png, avg65_img/avg_blur.png, gt/gt_sharp.png}``.
    With ``RSBlur_real_<split>.txt`` (GT and blurry paths per line) only the listed pairs load."""
    root = Path(root)
    rel_blur = {"real": "real_blur/real_blur.png", "avg": "avg65_img/avg_blur.png"}.get(track)
    if rel_blur is None:
        raise DatasetError(f"RSBlur track must be 'real' or 'avg', not {track!r}")
    _require_dir(root, "RSBlur")
    problems: list[str] = []
    samples: list[Sample] = []
    lst = next(
        (
            p
            for p in (root / f"RSBlur_real_{split}.txt", root.parent / f"RSBlur_real_{split}.txt")
            if p.is_file()
        ),
        None,
    )
    if lst is not None:
        dirs = []
        for line in lst.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            gt_rel = next((p for p in parts if "/gt/" in p), None)
            if gt_rel:
                d = Path(gt_rel).parent.parent
                dirs.append(
                    root / Path(*d.parts[1:]) if d.parts and d.parts[0] == root.name else root / d
                )
    else:
        dirs = sorted({p.parent.parent for p in root.glob("*/*/gt/gt_sharp.png")})
    for d in dirs:
        gt, blur = d / "gt" / "gt_sharp.png", d / rel_blur
        sid = f"{d.parent.name}/{d.name}"
        if not gt.is_file() or not blur.is_file():
            problems.append(f"{sid}: missing {gt if not gt.is_file() else blur}")
        else:
            samples.append(Sample(sid, str(blur), str(gt), meta={"scene": d.parent.name}))
    return _finish(
        "rsblur",
        f"rsblur-{split}-{track}",
        root,
        samples,
        problems,
        split,
        content_hash=content_hash,
    )


def load_bsd(root: str | Path, *, split: str = "test", content_hash: bool = False) -> DatasetIndex:
    """BSD: ``BSD_<cfg>/<split>/<seq>/{Blur,Sharp}/RGB/NNNNNNNN.png`` (``root`` = ``BSD_<cfg>``)."""
    root = Path(root)
    base = _require_dir(root / split, f"BSD {split}")
    problems: list[str] = []
    samples: list[Sample] = []
    for seq in sorted(p for p in base.iterdir() if p.is_dir()):
        pairs = _match(
            _images(seq / "Blur" / "RGB"), _images(seq / "Sharp" / "RGB"), f"{seq.name}/"
        )
        samples += _pair(pairs, problems)
    return _finish(
        "bsd", f"bsd-{root.name}-{split}", root, samples, problems, split, content_hash=content_hash
    )


def load_reds(
    root: str | Path, *, split: str = "val", track: str = "blur", content_hash: bool = False
) -> DatasetIndex:
    """REDS: ``<split>/<split>_{blur,blur_comp}/<seq>/NNNNNNNN.png`` with ``<split>_sharp``."""
    if track not in ("blur", "blur_comp"):
        raise DatasetError(f"REDS track must be 'blur' or 'blur_comp', not {track!r}")
    root = Path(root)
    base = root / split if (root / split).is_dir() else root
    bdir = _require_dir(base / f"{split}_{track}", f"REDS {split}_{track}")
    sdir = _require_dir(base / f"{split}_sharp", f"REDS {split}_sharp")
    problems: list[str] = []
    samples: list[Sample] = []
    for seq in sorted(
        {p.name for p in bdir.iterdir() if p.is_dir()}
        | {p.name for p in sdir.iterdir() if p.is_dir()}
    ):
        samples += _pair(_match(_images(bdir / seq), _images(sdir / seq), f"{seq}/"), problems)
    return _finish(
        "reds", f"reds-{split}-{track}", root, samples, problems, split, content_hash=content_hash
    )


# -- blur-only sets (no ground truth: RWBI, RWBlur400, own photos) ------------------------
def load_blur_only(
    root: str | Path, *, split: str = "test", kind: str = "blur-only", content_hash: bool = False
) -> DatasetIndex:
    """A folder of real blurry images without ground truth, scored with no-reference metrics.

    Every image under ``root`` is a sample (recursively; inside ``root/<split>`` and then
    ``root/{blur,input,blurry,lq}`` when such folders exist, which covers RWBI's and
    RWBlur400's released folders of photos); the id is the path relative to that folder
    without extension. Files that resolve outside the folder (links) are refused.
    """
    base = Path(root)
    if (base / split).is_dir():
        base = base / split
    _require_dir(base, f"{kind}")
    sub = _find_sub(base, _BLUR_NAMES)
    if sub is not None:
        base = sub
    top = base.resolve()
    problems: list[str] = []
    samples: list[Sample] = []
    for sid, p in _walk_images(base).items():
        if not p.resolve().is_relative_to(top):
            problems.append(f"{p}: resolves outside {base}")
            continue
        samples.append(Sample(sid, str(p), None))
    return _finish(
        kind, f"{kind}-{Path(root).name}", base, samples, problems, split, content_hash=content_hash
    )
