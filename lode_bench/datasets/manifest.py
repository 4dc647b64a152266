"""The lode-bench dataset layout and its ``manifest.json``.

Standard layout (every writer in lode-bench produces it)::

    <root>/manifest.json
    <root>/<split>/blur/<id>.png
    <root>/<split>/sharp/<id>.png
    <root>/<split>/mask/<id>.png        (local blur only; 0/255 binary PNG)
    <root>/<split>/<role>/<id>.<ext>     (any further role, e.g. ``blur_gamma``)

``<id>`` may contain ``/`` (e.g. ``GOPR0001_11_00/000001``), which becomes sub-folders.

``manifest.json``::

    {"format": "lode-bench-dataset", "format_version": 1, "name": ..., "meta": {...},
     "manifest_hash": <sha256 of the canonical sample list>,
     "samples": [{"id": ..., "split": ..., "files": {role: relpath}, "sha256": {role: hex},
                  "bytes": {role: file size}, "size": [H, W],
                  ... per-sample extras (source, recipe_hash, seed, ...)}]}

Writes are atomic: every image goes through a temporary file and a rename, finished
samples are journalled (``.manifest.journal.jsonl``, one fsynced line per sample), and
:meth:`DatasetWriter.finalize` writes ``manifest.json`` atomically. A writer opened on
an existing root resumes: samples already journalled whose files still hash correctly
are skipped (:meth:`DatasetWriter.has_sample`); anything else is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.io.atomic import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from lode_bench.io.images import encode_image
from lode_bench.io.paths import safe_join
from lode_bench.io.yamlfile import short_repr

FORMAT = "lode-bench-dataset"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = ".manifest.journal.jsonl"
META_NAME = ".manifest.meta.json"  # the meta of an unfinished run (its identity), until finalize


class ManifestError(LodeBenchError):
    """A manifest is missing, malformed, or does not match the files on disk."""


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal content gives equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return o.as_posix()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def samples_hash(samples: Sequence[Mapping[str, Any]]) -> str:
    """Hash identifying a dataset version: ids, splits, files and their sha256, in id order."""
    core = [
        {"id": s["id"], "split": s.get("split"), "files": s.get("files"), "sha256": s.get("sha256")}
        for s in sorted(samples, key=lambda s: (str(s.get("split")), str(s["id"])))
    ]
    return hashlib.sha256(canonical_json(core).encode()).hexdigest()


@dataclass
class Manifest:
    """A loaded ``manifest.json``."""

    root: Path
    name: str
    samples: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    manifest_hash: str = ""

    def path_of(self, sample: Mapping[str, Any], role: str) -> Path:
        """Absolute path of ``role`` for ``sample``; refuses paths outside the root."""
        try:
            rel = sample["files"][role]
        except KeyError as exc:
            raise ManifestError(
                f"{self.root / MANIFEST_NAME}: sample {sample.get('id')!r} has no {role!r} file"
            ) from exc
        return safe_join(self.root, rel)

    def split(self, split: str | None) -> list[dict[str, Any]]:
        return [s for s in self.samples if split is None or s.get("split") == split]

    def verify(self, *, check_hashes: bool = False) -> list[str]:
        """Problems found (missing files, hash mismatches); empty when all is well."""
        problems = []
        for s in self.samples:
            for role in s.get("files", {}):
                p = self.path_of(s, role)
                if not p.is_file():
                    problems.append(f"{p}: missing ({role} of sample {s['id']})")
                elif check_hashes and sha256_file(p) != s.get("sha256", {}).get(role):
                    problems.append(f"{p}: sha256 differs from the manifest")
        return problems


def _check_structure(path: Path, doc: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    """Types of the manifest's keys (one line naming the file and the key when wrong)."""

    def bad(key: str, expected: str, value: Any) -> ManifestError:
        return ManifestError(
            f"{path}: {key}: expected {expected}, got {type(value).__name__} {short_repr(value)}"
        )

    for key, kind, text in (("name", str, "text"), ("meta", dict, "an object")):
        if key in doc and doc[key] is not None and not isinstance(doc[key], kind):
            raise bad(key, text, doc[key])
    for i, s in enumerate(samples):
        where = f"samples[{i}]"
        if not isinstance(s["id"], str) or not s["id"]:
            raise bad(f"{where}.id", "a non-empty string", s["id"])
        if "split" in s and not isinstance(s["split"], str):
            raise bad(f"{where}.split", "text", s["split"])
        for key in ("files", "sha256"):
            v = s.get(key, {})
            if not isinstance(v, dict) or not all(
                isinstance(k, str) and isinstance(x, str) for k, x in v.items()
            ):
                raise bad(f"{where}.{key}", "an object of role -> text", v)


def load_manifest(root: str | Path) -> Manifest:
    """Load ``<root>/manifest.json``.

    Raises:
        ManifestError: naming the file when it is missing or malformed.
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: malformed JSON ({exc})") from exc
    except RecursionError:
        raise ManifestError(f"{path}: malformed JSON (nested too deeply)") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict):
        raise ManifestError(
            f"{path}: expected a JSON object at top level, got {type(doc).__name__}"
        )
    if doc.get("format") != FORMAT:
        raise ManifestError(
            f"{path}: not a lode-bench dataset manifest (format={short_repr(doc.get('format'))})"
        )
    samples = doc.get("samples")
    if not isinstance(samples, list) or not all(isinstance(s, dict) and "id" in s for s in samples):
        raise ManifestError(f"{path}: 'samples' must be a list of objects with an 'id'")
    _check_structure(path, doc, samples)
    seen: dict[tuple[str, str], int] = {}
    dups: list[str] = []
    for n, s in enumerate(samples):
        key = (str(s.get("split")), str(s["id"]))
        if key in seen:
            dups.append(f"{key[0]}/{key[1]} (samples {seen[key]} and {n})")
        seen.setdefault(key, n)
        for rel in s.get("files", {}).values():
            safe_join(root, rel)
    if dups:
        raise ManifestError(
            f"{path}: duplicate sample ids: {', '.join(dups[:5])}"
            + (f" and {len(dups) - 5} more" if len(dups) > 5 else "")
        )
    mhash = samples_hash(samples)
    if doc.get("manifest_hash") and doc["manifest_hash"] != mhash:
        raise ManifestError(f"{path}: manifest_hash does not match its samples (edited by hand?)")
    return Manifest(
        root=root,
        name=str(doc.get("name", root.name)),
        samples=samples,
        meta=dict(doc.get("meta", {})),
        manifest_hash=mhash,
    )


def remove_stale_temp_files(root: str | Path, *, older_than_s: float = 2.0) -> int:
    """Remove ``.<name>.<random>.tmp`` files left by killed atomic writes under ``root``.

    Files modified in the last ``older_than_s`` seconds are kept: a writer still running
    elsewhere may be about to rename them.

    Returns:
        How many were removed.
    """
    import re
    import time

    root = Path(root)
    if not root.is_dir():
        return 0
    pattern = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")
    now = time.time()
    n = 0
    for p in root.rglob(".*.tmp"):
        try:
            if (
                pattern.match(p.name)
                and p.is_file()
                and not p.is_symlink()
                and now - p.stat().st_mtime > older_than_s
            ):
                p.unlink()
                n += 1
        except OSError:
            continue
    return n


class DatasetWriter:
    """Write samples in the standard layout, atomically and resumably.

    Args:
        root: dataset folder (created if needed).
        name: dataset name stored in the manifest.
        meta: dataset-level metadata (recipe, tool version, ...).
        identity: keys of ``meta`` that define the dataset (recipe hash, seed, size): an
            existing dataset in ``root`` whose values differ is refused, so that samples of
            two parameter sets never mix.
        overwrite: instead of refusing, delete the other dataset's samples and start anew.

    Raises:
        ManifestError: ``root`` holds samples made with other ``identity`` values.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> tmp = tempfile.TemporaryDirectory()
        >>> blur, sharp = np.full((8, 8, 3), 90, np.uint8), np.full((8, 8, 3), 100, np.uint8)
        >>> w = DatasetWriter(tmp.name, "demo")
        >>> if not w.has_sample("0001"):
        ...     _ = w.write_sample("0001", {"blur": blur, "sharp": sharp})
        >>> manifest = w.finalize()
        >>> manifest.name, manifest.samples[0]["files"]
        ('demo', {'blur': 'test/blur/0001.png', 'sharp': 'test/sharp/0001.png'})
        >>> DatasetWriter(tmp.name, "demo").has_sample("0001")  # a re-run resumes
        True
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | Path,
        name: str,
        *,
        meta: Mapping[str, Any] | None = None,
        identity: Sequence[str] = (),
        overwrite: bool = False,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.meta = json.loads(canonical_json(dict(meta or {})))
        self._samples: dict[str, dict[str, Any]] = {}
        self._journal = self.root / JOURNAL_NAME
        self._old_meta: dict[str, Any] | None = None
        remove_stale_temp_files(self.root)
        self._load_existing()
        if identity and self._samples:
            self._check_identity(identity, overwrite)
        if identity:
            atomic_write_json(self.root / META_NAME, self.meta)

    def _check_identity(self, identity: Sequence[str], overwrite: bool) -> None:
        """Refuse to mix samples of another recipe/seed/size (or, with ``overwrite``, drop them)."""
        old = self._old_meta
        if old is None:
            try:
                old = json.loads((self.root / META_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
        if not isinstance(old, dict):
            diffs = ["unknown parameters (no manifest meta)"]
        else:
            diffs = [
                f"{k}={canonical_json(old.get(k))} (now {canonical_json(self.meta.get(k))})"
                for k in identity
                if k in old and old.get(k) != self.meta.get(k)
            ]
        if not diffs:
            return
        if not overwrite:
            raise ManifestError(
                f"{self.root}: holds {len(self._samples)} sample(s) made with other parameters: "
                f"{'; '.join(diffs)}; use another output folder or --overwrite to replace them"
            )
        for s in self._samples.values():
            for rel in s.get("files", {}).values():
                try:
                    safe_join(self.root, rel).unlink()
                except (OSError, LodeBenchError):
                    pass
        for fname in (MANIFEST_NAME, JOURNAL_NAME):
            try:
                (self.root / fname).unlink()
            except FileNotFoundError:
                pass
        self._samples = {}

    @staticmethod
    def _key(sample_id: str, split: str) -> str:
        return f"{split}\x00{sample_id}"

    def _load_existing(self) -> None:
        mpath = self.root / MANIFEST_NAME
        if mpath.is_file():
            try:
                man = load_manifest(self.root)
                self._old_meta = dict(man.meta)
                for s in man.samples:
                    self._samples[self._key(s["id"], s.get("split", ""))] = s
            except ManifestError:
                pass  # rewritten on finalize
        if self._journal.is_file():
            for line in self._journal.read_text(encoding="utf-8").splitlines():
                try:
                    s = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a killed run
                self._samples[self._key(s["id"], s.get("split", ""))] = s

    def has_sample(self, sample_id: str, *, split: str = "test", verify: bool = True) -> bool:
        """True when the sample was finished earlier (and, with ``verify``, its files hash right)."""
        s = self._samples.get(self._key(sample_id, split))
        if s is None:
            return False
        if not verify:
            return True
        for role, rel in s.get("files", {}).items():
            p = safe_join(self.root, rel)
            if not p.is_file() or sha256_file(p) != s["sha256"].get(role):
                return False
        return True

    def sample(self, sample_id: str, *, split: str = "test") -> dict[str, Any] | None:
        return self._samples.get(self._key(sample_id, split))

    def default_path(self, sample_id: str, split: str, role: str, ext: str = ".png") -> str:
        return f"{split}/{role}/{sample_id}{ext}"

    def write_sample(
        self,
        sample_id: str,
        images: Mapping[str, np.ndarray],
        *,
        split: str = "test",
        paths: Mapping[str, str] | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
        extra: Mapping[str, Any] | None = None,
        png_compression: int = 3,
    ) -> dict[str, Any]:
        """Encode and write one sample's images (and optional ``.npy`` arrays), then journal it.

        Args:
            sample_id: unique id within the split (may contain ``/``).
            images: role -> uint8/uint16 RGB or grey array (``mask`` is usually bool/0-255 grey).
            split: split name (``train``, ``test``, ...).
            paths: optional role -> relative path overriding the standard layout.
            arrays: role -> array saved as ``.npy`` (e.g. a flow-magnitude mask).
            extra: per-sample fields stored in the manifest (source, seed, coverage, ...).

        Returns:
            The manifest entry written.
        """
        paths = dict(paths or {})
        files: dict[str, str] = {}
        hashes: dict[str, str] = {}
        nbytes: dict[str, int] = {}
        size: list[int] | None = None
        for role, img in images.items():
            arr = np.asarray(img)
            if arr.dtype == bool:
                arr = arr.astype(np.uint8) * 255
            rel = paths.get(role) or self.default_path(sample_id, split, role, ".png")
            data = encode_image(arr, Path(rel).suffix or ".png", png_compression=png_compression)
            atomic_write_bytes(safe_join(self.root, rel), data)
            files[role], hashes[role], nbytes[role] = rel, sha256_bytes(data), len(data)
            size = size or [int(arr.shape[0]), int(arr.shape[1])]
        for role, arr in (arrays or {}).items():
            rel = paths.get(role) or self.default_path(sample_id, split, role, ".npy")
            import io as _io

            buf = _io.BytesIO()
            np.save(buf, np.asarray(arr), allow_pickle=False)
            data = buf.getvalue()
            atomic_write_bytes(safe_join(self.root, rel), data)
            files[role], hashes[role], nbytes[role] = rel, sha256_bytes(data), len(data)
        entry: dict[str, Any] = {
            "id": sample_id,
            "split": split,
            "files": files,
            "sha256": hashes,
            "bytes": nbytes,
            "size": size,
        }
        entry.update(json.loads(canonical_json(dict(extra or {}))))
        line = canonical_json(entry) + "\n"
        with open(self._journal, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self._samples[self._key(sample_id, split)] = entry
        return entry

    @property
    def samples(self) -> list[dict[str, Any]]:
        return sorted(self._samples.values(), key=lambda s: (str(s.get("split")), str(s["id"])))

    def finalize(self) -> Manifest:
        """Write ``manifest.json`` atomically and drop the journal."""
        samples = self.samples
        mhash = samples_hash(samples)
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "meta": json.loads(canonical_json(self.meta)),
            "manifest_hash": mhash,
            "samples": samples,
        }
        atomic_write_json(self.root / MANIFEST_NAME, doc, indent=1)
        for leftover in (self._journal, self.root / META_NAME):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
        return Manifest(
            root=self.root, name=self.name, samples=samples, meta=self.meta, manifest_hash=mhash
        )
