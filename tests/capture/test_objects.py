"""Object libraries from COCO (instances, panoptic) and VOC masks -> local-blur recipes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lode_bench.capture.objects import (
    ObjectLibraryError,
    build_object_library,
    coco_instances,
    decode_segmentation,
    load_object_library,
    polygons_to_mask,
    rle_decode,
    voc_objects,
)
from lode_bench.capture.response import CameraResponse
from lode_bench.cli.capture import capture
from lode_bench.datasets.manifest import load_manifest
from lode_bench.io import read_image, write_image
from lode_bench.io.raw import MissingExtraError
from lode_bench.synth.local_objects import (
    ObjectMotion,
    render_object_frames,
    synthesize_object_blur,
)
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.recipes import load_recipe

H, W = 80, 100


def _rle_encode(mask: np.ndarray) -> list[int]:
    """Column-major runs starting with zeros (independent of the decoder under test)."""
    flat = mask.T.ravel().astype(np.int8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], change])).tolist()


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(30, 226, (H, W, 3)).astype(np.uint8)


@pytest.fixture
def coco(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """A COCO instances file: a two-part polygon person, an RLE dog, a tiny cat, a crowd."""
    (tmp_path / "img").mkdir()
    write_image(tmp_path / "img/a.png", _image())
    dog = np.zeros((H, W), bool)
    yy, xx = np.mgrid[:H, :W]
    dog[(yy - 50) ** 2 + (xx - 70) ** 2 < 15**2] = True
    person = np.zeros((H, W), bool)
    person[5:25, 10:30] = True  # polygon part 1: x 10..30, y 5..25
    person[20:40, 28:36] = True  # part 2 overlaps part 1
    anns = [
        {
            "id": 1,
            "image_id": 7,
            "category_id": 1,
            "iscrowd": 0,
            "segmentation": [[10, 5, 30, 5, 30, 25, 10, 25], [28, 20, 36, 20, 36, 40, 28, 40]],
        },
        {
            "id": 2,
            "image_id": 7,
            "category_id": 18,
            "iscrowd": 0,
            "segmentation": {"size": [H, W], "counts": _rle_encode(dog)},
        },
        {
            "id": 3,
            "image_id": 7,
            "category_id": 17,
            "iscrowd": 0,
            "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]],
        },
        {
            "id": 4,
            "image_id": 7,
            "category_id": 1,
            "iscrowd": 1,
            "segmentation": {"size": [H, W], "counts": _rle_encode(dog)},
        },
    ]
    doc = {
        "images": [{"id": 7, "file_name": "a.png", "height": H, "width": W}],
        "annotations": anns,
        "categories": [
            {"id": 1, "name": "person"},
            {"id": 17, "name": "cat"},
            {"id": 18, "name": "dog"},
        ],
    }
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    return tmp_path / "ann.json", tmp_path / "img", {"person": person, "dog": dog}


def test_rle_and_polygon_decoding() -> None:
    rng = np.random.default_rng(1)
    m = rng.random((13, 17)) > 0.6
    np.testing.assert_array_equal(rle_decode(_rle_encode(m), 13, 17), m)
    rect = polygons_to_mask([[10, 5, 20, 5, 20, 15, 10, 15]], 30, 30)
    expected = np.zeros((30, 30), bool)
    expected[5:15, 10:20] = True  # COCO: pixel j covers [j, j+1)
    np.testing.assert_array_equal(rect, expected)


def test_compressed_rle_needs_pycocotools(monkeypatch: pytest.MonkeyPatch) -> None:
    seg = {"size": [4, 4], "counts": "04L4"}
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    with pytest.raises(MissingExtraError, match=r"lode-bench\[coco\]"):
        decode_segmentation(seg, 4, 4, where="ann.json: annotation 9")


def test_compressed_rle_with_pycocotools() -> None:
    mask_utils = pytest.importorskip("pycocotools.mask", reason="pycocotools (extra 'coco') absent")
    m = np.zeros((20, 24), np.uint8)
    m[3:11, 5:19] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    rle["counts"] = rle["counts"].decode("ascii")
    np.testing.assert_array_equal(decode_segmentation(rle, 20, 24, where="x"), m.astype(bool))
    poly = [[12.3, 2.2, 20.7, 6.1, 17.4, 17.9, 5.5, 14.2, 3.1, 6.6]]
    ours = polygons_to_mask(poly, 20, 24)
    theirs = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, 20, 24))).astype(bool)
    assert (ours & theirs).sum() / (ours | theirs).sum() >= 0.95


def test_coco_library_footprint_is_union_of_parts(coco, tmp_path: Path) -> None:
    ann, img_dir, truth = coco
    doc = build_object_library(
        coco_instances(ann, img_dir),
        tmp_path / "lib",
        name="t",
        licence="CC BY 4.0 (test)",
        source={"format": "coco"},
        min_area=50,
        feather=2.0,
        progress=False,
    )
    assert [o["class"] for o in doc["objects"]] == ["person", "dog"]  # cat too small, crowd out
    assert doc["licence"] == "CC BY 4.0 (test)" and doc["counts"] == {"dog": 1, "person": 1}
    src = read_image(img_dir / "a.png")
    for entry in doc["objects"]:
        x, y, w, h = entry["bbox"]
        rgba = read_image(tmp_path / "lib" / entry["file"], dtype="native")  # colour
        alpha = np.asarray(Image.open(tmp_path / "lib" / entry["file"]))[..., 3]
        m = truth[entry["class"]]
        np.testing.assert_array_equal(alpha > 0, m[y : y + h, x : x + w])  # footprint = mask
        ys, xs = np.nonzero(m)
        assert (x, y, w, h) == (xs.min() - 2, ys.min() - 2, np.ptp(xs) + 5, np.ptp(ys) + 5)  # pad 2
        inside = m[y : y + h, x : x + w]
        np.testing.assert_array_equal(rgba[inside], src[y : y + h, x : x + w][inside])
        assert alpha[inside].min() < 255 and alpha[inside].max() == 255  # feathered inwards
    objs, _ = load_object_library(tmp_path / "lib")
    assert len(objs) == 2 and objs[0][1].shape[2] == 4
    f = tmp_path / "lib" / doc["objects"][0]["file"]
    f.write_bytes(f.read_bytes()[:-3] + b"xyz")
    with pytest.raises(ObjectLibraryError, match="sha256"):
        load_object_library(tmp_path / "lib")


def test_voc_library_classes_and_boundary(tmp_path: Path) -> None:
    root = tmp_path / "VOC"
    for d in ("SegmentationObject", "SegmentationClass", "JPEGImages"):
        (root / d).mkdir(parents=True)
    write_image(root / "JPEGImages/2007_000001.png", _image(2))
    inst = np.zeros((H, W), np.uint8)
    cls = np.zeros((H, W), np.uint8)
    inst[10:40, 10:50], cls[10:40, 10:50] = 1, 15  # a person
    inst[45:75, 55:95], cls[45:75, 55:95] = 2, 12  # a dog
    for arr in (inst, cls):  # VOC's 255 "void" outline around objects
        edge = np.zeros_like(arr, bool)
        edge[9, 9:51] = edge[40, 9:51] = True
        arr[edge] = 255
    pal = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9)
    for name, arr in (("SegmentationObject", inst), ("SegmentationClass", cls)):
        im = Image.fromarray(arr, mode="P")
        im.putpalette(pal)
        im.save(root / name / "2007_000001.png")
    got = list(voc_objects(root))
    assert [(g.label, g.annotation_id) for g in got] == [
        ("person", "2007_000001:1"),
        ("dog", "2007_000001:2"),
    ]
    np.testing.assert_array_equal(got[0].mask, inst == 1)
    doc = build_object_library(
        iter(got),
        tmp_path / "lib",
        name="voc",
        licence="VOC terms",
        source={"format": "voc"},
        classes=["dog"],
        min_area=10,
        feather=0,
        progress=False,
    )
    (obj,) = doc["objects"]
    alpha = np.asarray(Image.open(tmp_path / "lib" / obj["file"]))[..., 3]
    assert set(np.unique(alpha)) == {0, 255}  # feather 0: hard alpha, as BladeNet
    assert obj["area"] == 30 * 40


def test_library_to_local_recipe_mask_is_union_of_footprints(coco, tmp_path: Path) -> None:
    ann, img_dir, _ = coco
    res = CliRunner().invoke(
        capture,
        [
            "objects",
            "--format",
            "coco",
            "--annotations",
            str(ann),
            "--images",
            str(img_dir),
            "--out",
            str(tmp_path / "lib"),
            "--licence",
            "CC BY 4.0 (test)",
            "--min-area",
            "50",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "2 objects (dog 1, person 1)" in res.output
    recipe_path = tmp_path / "local.yaml"
    recipe_path.write_text(
        "kind: local-objects\nsamples: 3\nresponse: gamma\n"
        "frames: {n: [7]}\nobjects: {library: lib, moving: [1, 2], static: [0, 1]}\n"
    )
    m = run_recipe(
        load_recipe(recipe_path), tmp_path / "ds", source="builtin", size=(96, 128), progress=False
    )
    meta = load_manifest(tmp_path / "ds").meta
    assert meta["object_library"]["licence"] == "CC BY 4.0 (test)"
    for s in m.samples:
        assert all(n.startswith(("person_", "dog_")) for n in s["moving_objects"])
        blur = read_image(m.root / s["files"]["blur"])
        sharp = read_image(m.root / s["files"]["sharp"])
        mask = read_image(m.root / s["files"]["mask"])[..., 0] > 0
        np.testing.assert_array_equal(blur[~mask], sharp[~mask])
    # footprint per frame measured independently: where a white copy of the object
    # changes a grey background
    objs, _ = load_object_library(tmp_path / "lib")
    white = objs[0][1].copy()
    white[..., :3] = 1.0
    bg = np.full((96, 128, 3), 128, np.uint8)
    motion = ObjectMotion(cx=60.3, cy=45.7, vx=0.83, vy=-0.41, scale_rate=0.01, rot_rate_deg=0.3)
    resp = CameraResponse("gamma", 2.2)
    frames, _ = render_object_frames(bg, [white], [motion], 9, resp)
    footprint = np.zeros((96, 128), bool)
    for f in frames:
        footprint |= np.any(f != bg, axis=2)
    out = synthesize_object_blur(bg, [white], [motion], 9, resp)
    assert np.all(out["mask"][footprint])  # every covered pixel is in the mask
    extra = out["mask"] & ~footprint  # only alpha too faint to change an 8-bit code
    from scipy.ndimage import binary_dilation

    assert np.all(binary_dilation(footprint, np.ones((3, 3), bool))[extra])
    assert extra.sum() <= 0.05 * out["mask"].sum()


def test_coco_panoptic_things_only(tmp_path: Path) -> None:
    from lode_bench.capture.objects import coco_panoptic

    (tmp_path / "img").mkdir()
    write_image(tmp_path / "img/b.png", _image(4))
    ids = np.zeros((H, W), np.int64)
    ids[:, :] = 300  # "sky": a stuff segment
    ids[10:30, 20:60] = 70000  # thing: id needs all three bytes (R + 256 G + 65536 B)
    png = np.stack([ids % 256, (ids // 256) % 256, ids // 65536], axis=-1).astype(np.uint8)
    write_image(tmp_path / "pan" / "b.png", png)
    doc = {
        "images": [{"id": 1, "file_name": "b.png", "height": H, "width": W}],
        "annotations": [
            {
                "image_id": 1,
                "file_name": "b.png",
                "segments_info": [
                    {"id": 300, "category_id": 187, "iscrowd": 0},
                    {"id": 70000, "category_id": 3, "iscrowd": 0},
                ],
            }
        ],
        "categories": [
            {"id": 3, "name": "car", "isthing": 1},
            {"id": 187, "name": "sky", "isthing": 0},
        ],
    }
    (tmp_path / "pan.json").write_text(json.dumps(doc))
    got = list(coco_panoptic(tmp_path / "pan.json", tmp_path / "pan", tmp_path / "img"))
    assert [g.label for g in got] == ["car"]
    np.testing.assert_array_equal(got[0].mask, ids == 70000)
