"""The dataset registry and ``"KIND:PATH"`` resolution.

``resolve_dataset("gopro:/data/GOPRO_Large")`` or ``resolve_dataset("/data/my_set")`` (a
folder with ``manifest.json``) returns a :class:`~lode_bench.datasets.types.DatasetIndex`.
Plugins add loaders through the ``lode_bench.datasets`` entry-point group: an entry point
names a callable ``loader(root, *, split=..., **options) -> DatasetIndex``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lode_bench.datasets.types import DatasetError, DatasetIndex, Sample
from lode_bench.errors import LodeBenchError
from lode_bench.registry import Registry, resolve_target

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
        fn = resolve_target(self.loader, what=f"dataset kind {self.name!r}")
        opts = {**dict(self.options), **kw}
        if self.default_split is not None:
            opts.setdefault("split", self.default_split)
        return fn(root, **opts)


def _validate(obj: Any) -> None:
    if not (isinstance(obj, DatasetKind) or callable(obj)):
        raise LodeBenchError(
            f"dataset registry entries must be DatasetKind or callable, got {type(obj).__name__}"
        )


#: every dataset kind: :data:`BUILTIN_KINDS` (loaded on first lookup), then the
#: ``lode_bench.datasets`` entry-point plugins.
DATASETS: Registry[DatasetKind] = Registry(
    "dataset",
    builtins="lode_bench.datasets.registry:BUILTIN_KINDS",
    entry_point_group="lode_bench.datasets",
    validate=_validate,
)

_L = "lode_bench.datasets.loaders"
BUILTIN_KINDS: tuple[tuple[DatasetKind, tuple[str, ...]], ...] = (
    (
        DatasetKind(
            "gopro",
            f"{_L}:load_gopro",
            "GoPro, 'blur' track (MPRNet-era tables)",
            (("track", "blur"),),
        ),
        (),
    ),
    (
        DatasetKind(
            "gopro-gamma",
            f"{_L}:load_gopro",
            "GoPro, 'blur_gamma' track (DeepDeblur's tables)",
            (("track", "blur_gamma"),),
        ),
        ("gopro-blur-gamma",),
    ),
    (DatasetKind("hide", f"{_L}:load_hide", "HIDE test/HIDE/{input,target}"), ()),
    (
        DatasetKind(
            "realblur-j",
            f"{_L}:load_realblur",
            "RealBlur-J (JPEG) with list files",
            (("variant", "J"),),
        ),
        ("realblur",),
    ),
    (
        DatasetKind(
            "realblur-r",
            f"{_L}:load_realblur",
            "RealBlur-R (raw) with list files",
            (("variant", "R"),),
        ),
        (),
    ),
    (DatasetKind("reloblur", f"{_L}:load_reloblur", "ReLoBlur local blur with binary masks"), ()),
    (DatasetKind("lode", f"{_L}:load_lode", "LODE local blur, optical-flow .npy masks"), ()),
    (
        DatasetKind(
            "rsblur", f"{_L}:load_rsblur", "RSBlur real blurry images", (("track", "real"),)
        ),
        (),
    ),
    (DatasetKind("bsd", f"{_L}:load_bsd", "BSD beam-splitter set (one exposure setting)"), ()),
    (
        DatasetKind(
            "reds", f"{_L}:load_reds", "REDS val, 'blur' track", (("track", "blur"),), "val"
        ),
        (),
    ),
    (
        DatasetKind("folder", f"{_L}:load_folder", "any blur/sharp folder pair (optional mask/)"),
        ("pair",),
    ),
    (
        DatasetKind(
            "blur-only",
            f"{_L}:load_blur_only",
            "a folder of blurry images without ground truth (no-reference protocols only)",
        ),
        ("nr", "no-gt"),
    ),
    (
        DatasetKind(
            "rwbi",
            f"{_L}:load_blur_only",
            "RWBI real blurry photos, no ground truth",
            (("kind", "rwbi"),),
        ),
        (),
    ),
    (
        DatasetKind(
            "rwblur400",
            f"{_L}:load_blur_only",
            "RWBlur400 real blurry photos, no ground truth",
            (("kind", "rwblur400"),),
        ),
        (),
    ),
    (
        DatasetKind(
            "manifest",
            "lode_bench.datasets.registry:load_manifest_dataset",
            "a lode-bench dataset folder with manifest.json",
            (),
            None,
        ),
        ("lode-bench",),
    ),
)


def list_dataset_kinds() -> list[DatasetKind]:
    """Every registered dataset kind (a plugin's bare loader shows as a ``plugin`` kind)."""
    out = []
    for name, k in DATASETS.items():
        out.append(k if isinstance(k, DatasetKind) else DatasetKind(name, k, "plugin"))
    return out


def _cache_dir() -> Path:
    env = os.environ.get("LODE_BENCH_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lode-bench"


def verify_manifest_files(man: Any, *, full: bool = False) -> list[str]:
    """Check every file a manifest lists: present, and its sha256 equal to the manifest's.

    By default a file whose size and modification time equal those recorded at an earlier
    full check of the same dataset version (a small cache in the user's cache folder,
    ``LODE_BENCH_CACHE_DIR`` to move it) is trusted without re-hashing; ``full`` re-hashes
    every file.

    Returns:
        One line per problem (missing file, different content), empty when all is well.
    """
    import hashlib
    import json
    from concurrent.futures import ThreadPoolExecutor

    from lode_bench.io.atomic import atomic_write_json, sha256_file

    key = hashlib.sha256(f"{Path(man.root).resolve()}\0{man.manifest_hash}".encode()).hexdigest()[
        :32
    ]
    cache_file = _cache_dir() / "verified" / f"{key}.json"
    cache: dict[str, Any] = {}
    if not full:
        try:
            loaded = json.loads(cache_file.read_text(encoding="utf-8"))
            cache = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            cache = {}
    problems: list[str] = []
    todo: list[tuple[Path, str, str, list[int]]] = []
    fresh: dict[str, Any] = {}
    for s in man.samples:
        hashes = s.get("sha256") or {}
        for role in s.get("files", {}):
            p = man.path_of(s, role)
            try:
                st = p.stat()
            except OSError:
                problems.append(f"{p}: missing ({role} of sample {s['id']})")
                continue
            if not p.is_file():
                problems.append(f"{p}: not a file ({role} of sample {s['id']})")
                continue
            want = hashes.get(role) if isinstance(hashes, dict) else None
            if not want:
                continue
            stamp = [st.st_size, st.st_mtime_ns]
            hit = cache.get(str(p))
            if hit == [*stamp, want]:
                fresh[str(p)] = hit
            else:
                todo.append((p, want, role, stamp))

    def digest(item: tuple[Path, str, str, list[int]]) -> str:
        try:
            return sha256_file(item[0])
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"

    with ThreadPoolExecutor(4) as pool:
        for (p, want, role, stamp), got in zip(todo, pool.map(digest, todo), strict=True):
            if got != want:
                problems.append(
                    f"{p}: content differs from manifest.json (sha256 {got[:12]}... instead of "
                    f"{want[:12]}...; {role} changed after the dataset was written)"
                )
            else:
                fresh[str(p)] = [*stamp, want]
    if todo and not problems:
        try:
            atomic_write_json(cache_file, fresh, indent=None)
        except OSError:
            pass  # the cache only saves time
    return problems


def load_manifest_dataset(
    root: str | Path,
    *,
    split: str | None = None,
    verify: bool = True,
    full_verify: bool = False,
    **_: Any,
) -> DatasetIndex:
    """A lode-bench dataset (``manifest.json``): roles ``blur``/``sharp``/``mask`` become the
    sample's images; ``.npy`` roles (e.g. ``kernel``) become per-sample arrays. ``split=None``
    takes every split (ids then carry the split, ``test/0001``, when there are several).

    With ``verify`` every listed file must exist and hash as the manifest says (see
    :func:`verify_manifest_files`; ``full_verify`` re-hashes every file), so that results
    are never stored under a dataset version the files do not match."""
    from lode_bench.datasets.manifest import ManifestError, load_manifest

    try:
        man = load_manifest(root)
    except ManifestError as exc:
        raise DatasetError(str(exc)) from exc
    if verify:
        problems = verify_manifest_files(man, full=full_verify)
        if problems:
            shown = "; ".join(problems[:5]) + (
                f"; ... and {len(problems) - 5} more" if len(problems) > 5 else ""
            )
            raise DatasetError(
                f"{root}: {len(problems)} file(s) do not match manifest.json: {shown}"
            )
    chosen = man.split(split) if split else list(man.samples)
    if not chosen:
        splits = sorted({str(s.get("split")) for s in man.samples})
        raise DatasetError(f"{root}: no samples in split {split!r} (splits: {splits})")
    many = len({s.get("split") for s in chosen}) > 1
    samples = []
    for s in chosen:
        files = s.get("files", {})
        if "blur" not in files:
            raise DatasetError(f"{root}/manifest.json: sample {s['id']!r} has no 'blur' file")
        arrays = {
            r: str(man.path_of(s, r))
            for r, rel in files.items()
            if r not in ("blur", "sharp", "mask") and str(rel).endswith(".npy")
        }
        meta = {k: v for k, v in s.items() if k not in ("id", "files", "sha256")}
        sid = f"{s.get('split')}/{s['id']}" if many else str(s["id"])
        samples.append(
            Sample(
                id=sid,
                blur=str(man.path_of(s, "blur")),
                sharp=str(man.path_of(s, "sharp")) if "sharp" in files else None,
                mask=str(man.path_of(s, "mask")) if "mask" in files else None,
                arrays=arrays,
                meta=meta,
            )
        )
    ids = [x.id for x in samples]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(f"{root}/manifest.json: duplicate sample ids {dup[:5]}")
    samples.sort(key=lambda x: x.id)
    # A split that holds every sample is the whole dataset: the same version as no split.
    vh = (
        man.manifest_hash
        if not split or len(chosen) == len(man.samples)
        else f"{man.manifest_hash}:{split}"
    )
    return DatasetIndex(
        name=man.name, kind="manifest", root=str(Path(root)), samples=samples, version_hash=vh
    )


def _resolve(
    spec: str, split: str | None, opts: dict[str, Any], full_verify: bool = False
) -> DatasetIndex:
    kind, sep, path = spec.partition(":")
    if not sep or (len(kind) == 1 and path.startswith(("\\", "/"))):  # no kind, or a Windows drive
        p = Path(spec)
        if (p / "manifest.json").is_file():
            return load_manifest_dataset(p, split=split, full_verify=full_verify, **opts)
        raise DatasetError(
            f"{spec}: not a lode-bench dataset (no manifest.json); use KIND:PATH, "
            f"KIND one of {', '.join(DATASETS.names())}"
        )
    entry = DATASETS.get(kind)
    kw = dict(opts)
    if full_verify and isinstance(entry, DatasetKind) and entry.name == "manifest":
        kw["full_verify"] = True
    if split is not None:
        kw["split"] = split
    if isinstance(entry, DatasetKind):
        return entry.load(path, **kw)
    return entry(path, **kw)  # type: ignore[operator]


def resolve_dataset(
    spec: str | os.PathLike[str],
    *,
    split: str | None = None,
    full_verify: bool = False,
    **options: Any,
) -> DatasetIndex:
    """Load a dataset from ``"KIND:PATH"`` or a manifest folder.

    Args:
        spec: e.g. ``"gopro:/data/GOPRO_Large"``, ``"realblur-j:/data/RealBlur"``, ``"out/synth"``
            (a :class:`~pathlib.Path` is a lode-bench dataset folder).
        split: split to load (default: the kind's, ``test`` for most).
        full_verify: re-hash every file of a lode-bench dataset (manifest) instead of
            trusting files unchanged since an earlier full check.
        **options: loader options (``track=``, ``content_hash=True`` ...).

    Raises:
        DatasetError: naming the folder and listing pairing problems.
        UnknownNameError: unknown kind ("did you mean ...").
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    return _resolve(spec, split, options, full_verify)
