"""Object libraries for local blur: RGBA cut-outs from segmentation datasets.

BladeNet made its local-blur objects by cutting segmented instances out of Pascal VOC
(``SegmentationObject``) and COCO images. :func:`build_object_library` does the same
from

* **COCO instances** (``instances_*.json``): polygons and uncompressed RLE are decoded
  here; compressed RLE (``counts`` as a string) needs ``pycocotools`` (extra ``coco``);
* **COCO panoptic** (``panoptic_*.json`` + the PNG folder; segment id =
  ``R + 256 G + 256² B``; ``isthing`` categories only);
* **VOC** (``SegmentationObject/*.png``: palette index = instance, 255 = boundary,
  0 = background; class from ``SegmentationClass/*.png`` by majority vote),

with a class filter, a minimum area and side, a tight crop (the mask's bounding box
plus ``pad`` px) and an alpha feathered *inwards*: ``alpha = min(1, d / feather)``
where ``d`` is the Euclidean distance (px) to the nearest pixel outside the mask, so
the cut-out's footprint (alpha > 0) is exactly the instance mask and no colour from
around the object leaks in (``feather = 0``: hard 0/1 alpha, as BladeNet).

A library folder holds ``objects/<name>.png`` (RGBA, straight alpha, 8 bits) and
``library.json``: format, name, **licence** (required: the source dataset's terms),
the source and parameters, and per object its file, sha256, class, source image,
annotation id, bounding box and area. :func:`load_object_library` checks every file
against it. Recipes of kind ``local-objects`` / ``local-shake`` take the folder as
``objects.library`` (or as ``--source`` together with ``backgrounds/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from lode_bench.errors import ConfigError, ImageReadError, LodeBenchError
from lode_bench.io import atomic_write_json, read_image, safe_join, sha256_file
from lode_bench.io.atomic import atomic_write_bytes, sha256_bytes
from lode_bench.io.images import encode_image
from lode_bench.io.raw import MissingExtraError

LIBRARY_FORMAT = "lode-bench-object-library"
LIBRARY_INDEX = "library.json"
VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


class ObjectLibraryError(LodeBenchError):
    """Annotations or a library folder are unusable; names the file."""


@dataclass
class Instance:
    """One segmented object of a source image."""

    image: Path
    mask: np.ndarray  # H×W bool
    label: str
    annotation_id: str


# ----------------------------------------------------------------------------- decoding
def rle_decode(counts: Sequence[int], h: int, w: int) -> np.ndarray:
    """Uncompressed COCO RLE (column-major runs, starting with a run of 0s) to H×W bool."""
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for c in counts:
        c = int(c)
        if c < 0 or pos + c > h * w:
            raise ValueError(f"RLE runs exceed the {h}x{w} image")
        if val:
            flat[pos : pos + c] = True
        pos, val = pos + c, not val
    return flat.reshape(w, h).T


def polygons_to_mask(polygons: Sequence[Sequence[float]], h: int, w: int) -> np.ndarray:
    """COCO polygons ``[x1, y1, x2, y2, ...]`` to an H×W bool mask (union of the parts).

    COCO coordinates put pixel *j*'s area at [j, j + 1), so a pixel is inside when its
    centre (j + 0.5) is inside the outline (``skimage.draw.polygon`` on the outline
    shifted by −0.5 px): a rectangle from x = 10 to x = 20 sets pixels 10…19, as
    pycocotools does (IoU ≥ 0.99 with pycocotools' rasteriser on random polygons).
    """
    from skimage.draw import polygon as draw_polygon

    mask = np.zeros((h, w), bool)
    for poly in polygons:
        pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2) - 0.5
        if len(pts) >= 3:
            rr, cc = draw_polygon(pts[:, 1], pts[:, 0], (h, w))
            mask[rr, cc] = True
    return mask


def decode_segmentation(seg: Any, h: int, w: int, *, where: str) -> np.ndarray:
    """A COCO ``segmentation`` (polygons, uncompressed or compressed RLE) to H×W bool.

    Raises:
        MissingExtraError: compressed RLE without pycocotools.
        ObjectLibraryError: a malformed segmentation (naming ``where``).
    """
    try:
        if isinstance(seg, list):
            return polygons_to_mask(seg, h, w)
        if isinstance(seg, dict) and isinstance(seg.get("counts"), list):
            sh, sw = (int(v) for v in seg.get("size", (h, w)))
            return rle_decode(seg["counts"], sh, sw)
        if isinstance(seg, dict) and isinstance(seg.get("counts"), (str, bytes)):
            try:
                from pycocotools import mask as mask_utils
            except ImportError as exc:
                raise MissingExtraError(
                    f"{where}: compressed RLE masks need pycocotools: "
                    "pip install 'lode-bench[coco]' (polygons and uncompressed RLE work without it)"
                ) from exc
            rle = dict(seg)
            if isinstance(rle["counts"], str):
                rle["counts"] = rle["counts"].encode("ascii")
            return mask_utils.decode(rle).astype(bool)
    except (ValueError, TypeError) as exc:
        raise ObjectLibraryError(f"{where}: malformed segmentation ({exc})") from exc
    raise ObjectLibraryError(f"{where}: unsupported segmentation {type(seg).__name__}")


def _load_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ObjectLibraryError(f"{path}: cannot read annotations ({exc})") from exc
    if not isinstance(doc, dict) or "annotations" not in doc or "images" not in doc:
        raise ObjectLibraryError(f"{path}: not a COCO annotation file (no images/annotations)")
    return doc


def coco_instances(
    annotations: str | Path, images_dir: str | Path, *, include_crowd: bool = False
) -> Iterator[Instance]:
    """Instances of a COCO instance-segmentation file, in annotation order."""
    doc = _load_json(Path(annotations))
    images = {im["id"]: im for im in doc["images"]}
    cats = {c["id"]: c["name"] for c in doc.get("categories", [])}
    for ann in doc["annotations"]:
        if ann.get("iscrowd", 0) and not include_crowd:
            continue
        im = images.get(ann["image_id"])
        if im is None:
            raise ObjectLibraryError(f"{annotations}: annotation {ann.get('id')} names no image")
        h, w = int(im["height"]), int(im["width"])
        where = f"{annotations}: annotation {ann.get('id')}"
        mask = decode_segmentation(ann["segmentation"], h, w, where=where)
        yield Instance(
            safe_join(images_dir, im["file_name"]),
            mask,
            cats.get(ann["category_id"], str(ann["category_id"])),
            str(ann.get("id")),
        )


def coco_panoptic(
    annotations: str | Path,
    masks_dir: str | Path,
    images_dir: str | Path,
    *,
    include_crowd: bool = False,
) -> Iterator[Instance]:
    """Thing segments of a COCO panoptic file (PNG ids ``R + 256 G + 256² B``)."""
    doc = _load_json(Path(annotations))
    images = {im["id"]: im for im in doc["images"]}
    cats = {c["id"]: c for c in doc.get("categories", [])}
    for ann in doc["annotations"]:
        png = safe_join(masks_dir, ann["file_name"])
        ids = read_image(png, dtype="native").astype(np.int64)
        seg_id = ids[..., 0] + 256 * ids[..., 1] + 65536 * ids[..., 2]
        im = images[ann["image_id"]]
        for s in ann["segments_info"]:
            cat = cats.get(s["category_id"], {"name": str(s["category_id"]), "isthing": 1})
            if not cat.get("isthing", 1) or (s.get("iscrowd", 0) and not include_crowd):
                continue
            yield Instance(
                safe_join(images_dir, im["file_name"]),
                seg_id == int(s["id"]),
                str(cat["name"]),
                f"{ann['image_id']}:{s['id']}",
            )


def _palette_indices(path: Path) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        raise ImageReadError(path, "file not found")
    try:
        with Image.open(path) as im:
            if im.mode not in ("P", "L"):
                raise ImageReadError(path, f"VOC label PNG must be palette or grey, got {im.mode}")
            return np.array(im)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read label PNG ({exc})") from exc


def voc_objects(voc_root: str | Path, *, image_set: str | None = None) -> Iterator[Instance]:
    """Instances of ``SegmentationObject`` (VOC layout), classes from ``SegmentationClass``."""
    root = Path(voc_root)
    obj_dir, cls_dir, img_dir = (
        root / "SegmentationObject",
        root / "SegmentationClass",
        root / "JPEGImages",
    )
    if not obj_dir.is_dir():
        raise ObjectLibraryError(f"{root}: no SegmentationObject/ folder (VOC layout)")
    if image_set:
        lst = root / "ImageSets" / "Segmentation" / f"{image_set}.txt"
        if not lst.is_file():
            raise ObjectLibraryError(f"{lst}: image set not found")
        stems = [s for s in lst.read_text(encoding="utf-8").split() if s]
    else:
        stems = sorted(p.stem for p in obj_dir.glob("*.png"))
    for stem in stems:
        inst = _palette_indices(obj_dir / f"{stem}.png")
        cls = _palette_indices(cls_dir / f"{stem}.png")
        image = next(
            (p for p in (img_dir / f"{stem}.jpg", img_dir / f"{stem}.png") if p.is_file()),
            img_dir / f"{stem}.jpg",
        )
        for k in sorted(int(v) for v in np.unique(inst) if v not in (0, 255)):
            m = inst == k
            votes = np.bincount(cls[m][cls[m] != 255].astype(np.int64), minlength=len(VOC_CLASSES))
            c = int(np.argmax(votes)) if votes.sum() else 0
            label = VOC_CLASSES[c] if c < len(VOC_CLASSES) else str(c)
            yield Instance(image, m, label, f"{stem}:{k}")


# ----------------------------------------------------------------------------- cut-outs
def feathered_alpha(mask: np.ndarray, feather: float) -> np.ndarray:
    """``min(1, d / feather)``, d = distance to the nearest outside pixel (0 outside)."""
    if feather <= 0:
        return mask.astype(np.float32)
    padded = np.pad(mask.astype(np.uint8), 1)  # the border counts as outside
    d = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    return np.clip(d / float(feather), 0.0, 1.0).astype(np.float32) * mask


def cutout(
    image: np.ndarray, mask: np.ndarray, *, pad: int = 2, feather: float = 2.0
) -> tuple[np.ndarray, list[int]]:
    """RGBA uint8 cut-out (straight alpha) cropped to the mask's box + ``pad``; and the box.

    Returns:
        (h×w×4 uint8, [x, y, w, h] of the crop in the source image).
    """
    ys, xs = np.nonzero(mask)
    y0, y1 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(mask.shape[1], xs.max() + 1 + pad)
    m = mask[y0:y1, x0:x1]
    a = np.rint(feathered_alpha(m, feather) * 255.0).astype(np.uint8)
    a[m & (a == 0)] = 1  # footprint = mask even after 8-bit rounding
    rgb = np.where(m[..., None], image[y0:y1, x0:x1], 0).astype(np.uint8)
    return np.dstack([rgb, a]), [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text).strip("-") or "obj"


def build_object_library(
    instances: Iterator[Instance],
    out_dir: str | Path,
    *,
    name: str,
    licence: str,
    source: dict[str, Any],
    classes: Sequence[str] | None = None,
    min_area: int = 1024,
    min_side: int = 16,
    pad: int = 2,
    feather: float = 2.0,
    max_objects: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Cut instances out into ``out_dir/objects/`` and write ``library.json``.

    Args:
        instances: from :func:`coco_instances`, :func:`coco_panoptic` or :func:`voc_objects`.
        out_dir: library folder (created).
        name: library name.
        licence: the terms of the source images/annotations (required, stored).
        source: description of the source (format, annotation file) for the manifest.
        classes: keep only these class names (None: all).
        min_area: smallest mask area (px) kept.
        min_side: smallest side (px) of the mask's bounding box kept.
        pad: px added around the mask's bounding box.
        feather: inward alpha feather (px); 0 = hard alpha.
        max_objects: stop after this many cut-outs.
        progress: show a progress bar.

    Returns:
        The ``library.json`` document.

    Raises:
        ObjectLibraryError: no licence, or no instance passed the filters.
    """
    if not licence or not licence.strip():
        raise ObjectLibraryError(f"{out_dir}: a library needs a licence (the source's terms)")
    out = Path(out_dir)
    keep = {c.strip() for c in classes} if classes else None
    entries: list[dict[str, Any]] = []
    cache: dict[Path, np.ndarray] = {}
    counts: dict[str, int] = {}
    for inst in tqdm(instances, desc="objects", unit="instance", disable=not progress):
        if keep is not None and inst.label not in keep:
            continue
        area = int(inst.mask.sum())
        if area < min_area:
            continue
        ys, xs = np.nonzero(inst.mask)
        if min(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) < min_side:
            continue
        if inst.image not in cache:
            cache = {inst.image: read_image(inst.image)}  # instances come grouped by image
        img = cache[inst.image]
        if img.shape[:2] != inst.mask.shape:
            raise ObjectLibraryError(
                f"{inst.image}: image {img.shape[1]}x{img.shape[0]} but its mask is "
                f"{inst.mask.shape[1]}x{inst.mask.shape[0]} (annotation {inst.annotation_id})"
            )
        rgba, box = cutout(img, inst.mask, pad=pad, feather=feather)
        counts[inst.label] = counts.get(inst.label, 0) + 1
        fname = f"objects/{_slug(inst.label)}_{len(entries):06d}.png"
        data = encode_image(rgba, ".png")
        atomic_write_bytes(out / fname, data)
        entries.append(
            {
                "file": fname,
                "sha256": sha256_bytes(data),
                "class": inst.label,
                "source_image": inst.image.name,
                "annotation_id": inst.annotation_id,
                "bbox": box,
                "area": area,
            }
        )
        if max_objects is not None and len(entries) >= max_objects:
            break
    if not entries:
        raise ObjectLibraryError(
            f"{source.get('annotations', out)}: no instance passed the "
            f"filters (classes={sorted(keep) if keep else 'all'}, "
            f"min_area={min_area}, min_side={min_side})"
        )
    doc = {
        "format": LIBRARY_FORMAT,
        "format_version": 1,
        "name": name,
        "licence": licence,
        "source": source,
        "params": {
            "classes": sorted(keep) if keep else None,
            "min_area": min_area,
            "min_side": min_side,
            "pad": pad,
            "feather": feather,
            "alpha": "min(1, distance-to-outside / feather), straight, 8-bit",
        },
        "counts": dict(sorted(counts.items())),
        "objects": entries,
    }
    atomic_write_json(out / LIBRARY_INDEX, doc)
    return doc


def load_object_library(path: str | Path) -> tuple[list[tuple[str, np.ndarray]], dict[str, Any]]:
    """Objects of a library folder as (name, H×W×4 float32 straight RGBA), and its index.

    Raises:
        ObjectLibraryError: no/malformed ``library.json``, or a file missing or changed.
    """
    root = Path(path)
    idx = root / LIBRARY_INDEX
    try:
        doc = json.loads(idx.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ObjectLibraryError(f"{idx}: cannot read the library index ({exc})") from exc
    if doc.get("format") != LIBRARY_FORMAT or not isinstance(doc.get("objects"), list):
        raise ObjectLibraryError(f"{idx}: not a lode-bench object library")
    objs = []
    for e in doc["objects"]:
        p = safe_join(root, e["file"])
        if not p.is_file():
            raise ObjectLibraryError(f"{p}: listed in {LIBRARY_INDEX} but missing")
        if sha256_file(p) != e.get("sha256"):
            raise ObjectLibraryError(f"{p}: sha256 differs from {LIBRARY_INDEX}")
        raw = read_image(p, dtype="native", alpha="drop")
        alpha = _alpha_plane(p)
        if raw.dtype != np.uint8 or alpha is None:
            raise ConfigError(f"{p}: object must be an 8-bit RGBA PNG")
        rgba = np.dstack([raw.astype(np.float32) / 255.0, alpha.astype(np.float32) / 255.0])
        objs.append((Path(e["file"]).stem, rgba))
    return objs, doc


def _alpha_plane(path: Path) -> np.ndarray | None:
    arr = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    return arr[..., 3] if arr is not None and arr.ndim == 3 and arr.shape[2] == 4 else None
