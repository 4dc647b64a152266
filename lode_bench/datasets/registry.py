"""The dataset registry and ``"KIND:PATH"`` resolution.

``resolve_dataset("gopro:/data/GOPRO_Large")`` or ``resolve_dataset("/data/my_set")`` (a
folder with ``manifest.json``) returns a :class:`~lode_bench.datasets.types.DatasetIndex`.
Plugins add loaders through the ``lode_bench.datasets`` entry-point group: an entry point
names a callable ``loader(root, *, split=..., **options) -> DatasetIndex``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lode_bench.datasets.types import DatasetError, DatasetIndex, Sample
from lode_bench.errors import LodeBenchError
from lode_bench.registry import Registry

Loader = Callable[..., DatasetIndex]


@dataclass(frozen=True)
class DatasetKind:
    """A registered loader with a description and fixed options (e.g. a track)."""

    name: str
    loader: Loader | str
    description: str
    options: tuple[tuple[str, Any], ...] = ()
    default_split: str | None = "test"

    def load(self, root: str | Path, **kw: Any) -> DatasetIndex:
        fn = self.loader
        if isinstance(fn, str):
            from lode_bench.registry import load_object

            fn = load_object(fn)
        opts = {**dict(self.options), **kw}
        if self.default_split is not None:
            opts.setdefault("split", self.default_split)
        return fn(root, **opts)


def _validate(obj: Any) -> None:
    if not (isinstance(obj, DatasetKind) or callable(obj)):
        raise LodeBenchError(f"dataset registry entries must be DatasetKind or callable, got {type(obj).__name__}")


DATASETS: Registry[DatasetKind] = Registry("dataset", entry_point_group="lode_bench.datasets",
                                           validate=_validate)

_L = "lode_bench.datasets.loaders"
_BUILTIN = (
    (DatasetKind("gopro", f"{_L}:load_gopro", "GoPro, 'blur' track (MPRNet-era tables)", (("track", "blur"),)), ()),
    (DatasetKind("gopro-gamma", f"{_L}:load_gopro", "GoPro, 'blur_gamma' track (DeepDeblur's tables)",
                 (("track", "blur_gamma"),)), ("gopro-blur-gamma",)),
    (DatasetKind("hide", f"{_L}:load_hide", "HIDE test/HIDE/{input,target}"), ()),
    (DatasetKind("realblur-j", f"{_L}:load_realblur", "RealBlur-J (JPEG) with list files",
                 (("variant", "J"),)), ("realblur",)),
    (DatasetKind("realblur-r", f"{_L}:load_realblur", "RealBlur-R (raw) with list files", (("variant", "R"),)), ()),
    (DatasetKind("reloblur", f"{_L}:load_reloblur", "ReLoBlur local blur with binary masks"), ()),
    (DatasetKind("lode", f"{_L}:load_lode", "LODE local blur, optical-flow .npy masks"), ()),
    (DatasetKind("rsblur", f"{_L}:load_rsblur", "RSBlur real blurry images", (("track", "real"),)), ()),
    (DatasetKind("bsd", f"{_L}:load_bsd", "BSD beam-splitter set (one exposure setting)"), ()),
    (DatasetKind("reds", f"{_L}:load_reds", "REDS val, 'blur' track", (("track", "blur"),), "val"), ()),
    (DatasetKind("folder", f"{_L}:load_folder", "any blur/sharp folder pair (optional mask/)"), ("pair",)),
    (DatasetKind("blur-only", f"{_L}:load_blur_only", "a folder of blurry images without ground truth "
                 "(no-reference protocols only)"), ("nr", "no-gt")),
    (DatasetKind("rwbi", f"{_L}:load_blur_only", "RWBI real blurry photos, no ground truth",
                 (("kind", "rwbi"),)), ()),
    (DatasetKind("rwblur400", f"{_L}:load_blur_only", "RWBlur400 real blurry photos, no ground truth",
                 (("kind", "rwblur400"),)), ()),
    (DatasetKind("manifest", "lode_bench.datasets.registry:load_manifest_dataset",
                 "a lode-bench dataset folder with manifest.json", (), None), ("lode-bench",)),
)


def register_builtin_datasets() -> None:
    for kind, aliases in _BUILTIN:
        if kind.name not in DATASETS:
            DATASETS.register(kind.name, kind, aliases=aliases, lazy=False)


def list_dataset_kinds() -> list[DatasetKind]:
    register_builtin_datasets()
    out = []
    for name, k in DATASETS.items():
        out.append(k if isinstance(k, DatasetKind) else DatasetKind(name, k, "plugin"))
    return out


def load_manifest_dataset(root: str | Path, *, split: str | None = None, verify: bool = True,
                          **_: Any) -> DatasetIndex:
    """A lode-bench dataset (``manifest.json``): roles ``blur``/``sharp``/``mask`` become the
    sample's images; ``.npy`` roles (e.g. ``kernel``) become per-sample arrays. ``split=None``
    takes every split (ids then carry the split, ``test/0001``, when there are several)."""
    from lode_bench.datasets.manifest import ManifestError, load_manifest

    try:
        man = load_manifest(root)
    except ManifestError as exc:
        raise DatasetError(str(exc)) from exc
    if verify:
        problems = man.verify()
        if problems:
            shown = "\n  ".join(problems[:20])
            raise DatasetError(f"{root}: {len(problems)} file(s) listed in manifest.json are missing:\n  {shown}")
    chosen = man.split(split) if split else list(man.samples)
    if not chosen:
        splits = sorted({str(s.get('split')) for s in man.samples})
        raise DatasetError(f"{root}: no samples in split {split!r} (splits: {splits})")
    many = len({s.get("split") for s in chosen}) > 1
    samples = []
    for s in chosen:
        files = s.get("files", {})
        if "blur" not in files:
            raise DatasetError(f"{root}/manifest.json: sample {s['id']!r} has no 'blur' file")
        arrays = {r: str(man.path_of(s, r)) for r, rel in files.items()
                  if r not in ("blur", "sharp", "mask") and str(rel).endswith(".npy")}
        meta = {k: v for k, v in s.items() if k not in ("id", "files", "sha256")}
        sid = f"{s.get('split')}/{s['id']}" if many else str(s["id"])
        samples.append(Sample(
            id=sid, blur=str(man.path_of(s, "blur")),
            sharp=str(man.path_of(s, "sharp")) if "sharp" in files else None,
            mask=str(man.path_of(s, "mask")) if "mask" in files else None, arrays=arrays, meta=meta))
    samples.sort(key=lambda x: x.id)
    vh = man.manifest_hash if not split else f"{man.manifest_hash}:{split}"
    return DatasetIndex(name=man.name, kind="manifest", root=str(Path(root)), samples=samples, version_hash=vh)


def _resolve(spec: str, split: str | None, opts: dict[str, Any]) -> DatasetIndex:
    register_builtin_datasets()
    kind, sep, path = spec.partition(":")
    if not sep or (len(kind) == 1 and path.startswith(("\\", "/"))):  # no kind, or a Windows drive
        p = Path(spec)
        if (p / "manifest.json").is_file():
            return load_manifest_dataset(p, split=split, **opts)
        raise DatasetError(f"{spec}: not a lode-bench dataset (no manifest.json); use KIND:PATH, "
                           f"KIND one of {', '.join(DATASETS.names())}")
    entry = DATASETS.get(kind)
    kw = dict(opts)
    if split is not None:
        kw["split"] = split
    if isinstance(entry, DatasetKind):
        return entry.load(path, **kw)
    return entry(path, **kw)  # type: ignore[operator]


def resolve_dataset(spec: str, *, split: str | None = None, **options: Any) -> DatasetIndex:
    """Load a dataset from ``"KIND:PATH"`` or a manifest folder.

    Args:
        spec: e.g. ``"gopro:/data/GOPRO_Large"``, ``"realblur-j:/data/RealBlur"``, ``"out/synth"``.
        split: split to load (default: the kind's, ``test`` for most).
        **options: loader options (``track=``, ``content_hash=True`` ...).

    Raises:
        DatasetError: naming the folder and listing pairing problems.
        UnknownNameError: unknown kind ("did you mean ...").
    """
    return _resolve(spec, split, options)
