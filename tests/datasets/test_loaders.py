"""Dataset loaders: official layouts, pairing by identity, problems reported, version hashes."""

from __future__ import annotations

import numpy as np
import pytest

from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.datasets.registry import list_dataset_kinds, resolve_dataset
from lode_bench.datasets.types import DatasetError
from lode_bench.errors import UnknownNameError
from lode_bench.io import write_image

IMG = np.full((4, 5, 3), 128, np.uint8)


def _img(path, value=128):
    write_image(path, np.full((4, 5, 3), value, np.uint8))


def _gopro(root, seqs=("GOPR0384_11_00", "GOPR0385_07_01"), n=2):
    for seq in seqs:
        for i in range(n):
            for sub in ("blur", "blur_gamma", "sharp"):
                _img(root / "test" / seq / sub / f"{i:06d}.png")
    return root


def test_gopro_both_tracks(tmp_path):
    root = _gopro(tmp_path / "GOPRO_Large")
    ds = resolve_dataset(f"gopro:{root}")
    assert [s.id for s in ds.samples] == [
        "GOPR0384_11_00/000000",
        "GOPR0384_11_00/000001",
        "GOPR0385_07_01/000000",
        "GOPR0385_07_01/000001",
    ]
    assert ds.samples[0].blur.endswith("GOPR0384_11_00/blur/000000.png")
    assert ds.samples[0].meta["n_frames"] == 11 and ds.samples[2].meta["n_frames"] == 7
    assert any("official release has 1111" in w for w in ds.warnings)
    g = resolve_dataset(f"gopro-gamma:{root}")
    assert g.samples[0].blur.endswith("blur_gamma/000000.png")
    assert g.version_hash != ds.version_hash and g.name == "gopro-test-gamma"


def test_gopro_reports_missing_files_instead_of_mispairing(tmp_path):
    root = _gopro(tmp_path / "G")
    (root / "test" / "GOPR0384_11_00" / "sharp" / "000001.png").unlink()
    (root / "test" / "GOPR0385_07_01" / "blur" / "000000.png").unlink()
    with pytest.raises(DatasetError) as err:
        resolve_dataset(f"gopro:{root}")
    msg = str(err.value)
    assert "2 problem(s)" in msg
    assert "GOPR0384_11_00/000001: blurry image" in msg and "has no ground truth" in msg
    assert "GOPR0385_07_01/000000: ground truth" in msg


def test_version_hash_changes_with_content(tmp_path):
    root = _gopro(tmp_path / "G", seqs=("GOPR0001_09_00",), n=1)
    h1 = resolve_dataset(f"gopro:{root}").version_hash
    assert resolve_dataset(f"gopro:{root}").version_hash == h1
    big = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    write_image(root / "test" / "GOPR0001_09_00" / "sharp" / "000000.png", big)
    assert resolve_dataset(f"gopro:{root}").version_hash != h1
    assert resolve_dataset(f"gopro:{root}", content_hash=True).version_hash != h1


def test_realblur_list_file_and_scan(tmp_path):
    base = tmp_path / "RealBlur"
    folder = "RealBlur-J_ECC_IMCORR_centroid_itensity_ref"
    lines = []
    for scene in ("scene050", "scene244_reflect"):
        for k in (1, 2):
            _img(base / folder / scene / "blur" / f"blur_{k}.png")
            _img(base / folder / scene / "gt" / f"gt_{k}.png")
            lines.append(f"{folder}/{scene}/gt/gt_{k}.png {folder}/{scene}/blur/blur_{k}.png")
    (base / "RealBlur_J_test_list.txt").write_text("\n".join(lines[:3]) + "\n")
    ds = resolve_dataset(f"realblur-j:{base}")
    assert [s.id for s in ds.samples] == [
        "scene050/blur_1",
        "scene050/blur_2",
        "scene244_reflect/blur_1",
    ]
    assert ds.samples[0].sharp.endswith("gt/gt_1.png")
    (base / "RealBlur_J_test_list.txt").unlink()
    assert len(resolve_dataset(f"realblur-j:{base}")) == 4  # no list file: scene scan
    (base / "RealBlur_J_test_list.txt").write_text(
        f"{folder}/scene050/gt/gt_9.png {folder}/scene050/blur/blur_9.png\n"
    )
    with pytest.raises(DatasetError, match="gt_9.png not found"):
        resolve_dataset(f"realblur-j:{base}")
    (base / "RealBlur_J_test_list.txt").write_text("../../etc/passwd x/blur/y.png\n")
    with pytest.raises(Exception, match="leaves the dataset root"):
        resolve_dataset(f"realblur-j:{base}")


def test_reloblur_with_masks(tmp_path):
    root = tmp_path / "ReLoBlur"
    for scene, n in (("s01", "00"), ("s01", "01"), ("s02", "00")):
        d = root / "dataset" / "test" / scene / n
        _img(d / f"{n}_blur.png")
        _img(d / f"{n}_sharp.png")
        _img(root / "masks" / "test" / scene / n / f"{n}.png", 255)
    ds = resolve_dataset(f"reloblur:{root}")
    assert [s.id for s in ds.samples] == ["s01/00/00", "s01/01/01", "s02/00/00"]
    assert ds.samples[0].mask.endswith("masks/test/s01/00/00.png")
    (root / "masks" / "test" / "s02" / "00" / "00.png").unlink()
    with pytest.raises(DatasetError, match="s02/00/00: mask"):
        resolve_dataset(f"reloblur:{root}")


def test_lode_flow_masks(tmp_path):
    root = tmp_path / "LODE"
    for i in ("a", "b"):
        _img(root / "val" / "blur" / f"{i}.png")
        _img(root / "val" / "sharp" / f"{i}.png")
        (root / "localval" / "optical_mask").mkdir(parents=True, exist_ok=True)
        np.save(root / "localval" / "optical_mask" / f"{i}.npy", np.zeros((4, 5), np.float32))
    ds = resolve_dataset(f"lode:{root}")
    assert [s.mask.endswith(f"{s.id}.npy") for s in ds.samples] == [True, True]


def test_folder_pairs_recursive_and_mask(tmp_path):
    root = tmp_path / "pairs"
    _img(root / "input" / "x" / "1.png")
    _img(root / "target" / "x" / "1.png")
    _img(root / "input" / "2.jpg")
    _img(root / "target" / "2.png")  # pairs by name without extension
    ds = resolve_dataset(f"folder:{root}")
    assert [s.id for s in ds.samples] == ["2", "x/1"]
    two = resolve_dataset(f"folder:{root / 'input'},{root / 'target'}")
    assert len(two) == 2
    _img(root / "input" / "3.png")
    with pytest.raises(DatasetError, match="3: blurry image .* has no ground truth"):
        resolve_dataset(f"folder:{root}")


def test_hide_bsd_reds_rsblur(tmp_path):
    hide = tmp_path / "test" / "HIDE"
    _img(hide / "input" / "a.png")
    _img(hide / "target" / "a.png")
    assert len(resolve_dataset(f"hide:{tmp_path}")) == 1
    bsd = tmp_path / "BSD_2ms16ms"
    for i in range(2):
        _img(bsd / "test" / "seq1" / "Blur" / "RGB" / f"{i:08d}.png")
        _img(bsd / "test" / "seq1" / "Sharp" / "RGB" / f"{i:08d}.png")
    assert [s.id for s in resolve_dataset(f"bsd:{bsd}").samples] == [
        "seq1/00000000",
        "seq1/00000001",
    ]
    reds = tmp_path / "REDS"
    for sub in ("val_blur", "val_blur_comp", "val_sharp"):
        _img(reds / "val" / sub / "000" / "00000000.png")
    assert resolve_dataset(f"reds:{reds}").samples[0].blur.endswith("val_blur/000/00000000.png")
    rs = tmp_path / "RSBlur"
    for rel in ("real_blur/real_blur.png", "avg65_img/avg_blur.png", "gt/gt_sharp.png"):
        _img(rs / "V001" / "00001" / rel)
    ds = resolve_dataset(f"rsblur:{rs}")
    assert ds.samples[0].id == "V001/00001" and ds.samples[0].blur.endswith("real_blur.png")


def test_manifest_dataset_with_kernel_arrays(tmp_path):
    w = DatasetWriter(tmp_path / "synth", "tiny")
    for i in range(3):
        w.write_sample(
            f"{i:03d}",
            {"blur": IMG, "sharp": IMG},
            arrays={"kernel": np.eye(3) / 3},
            extra={"seed": i},
        )
    w.finalize()
    ds = resolve_dataset(str(tmp_path / "synth"))
    assert ds.kind == "manifest" and len(ds) == 3
    s = ds.samples[1]
    np.testing.assert_allclose(s.array("kernel"), np.eye(3) / 3)
    assert s.meta["seed"] == 1 and s.mask is None
    assert resolve_dataset(f"manifest:{tmp_path / 'synth'}").version_hash == ds.version_hash
    assert resolve_dataset(tmp_path / "synth").version_hash == ds.version_hash  # a Path works too
    (tmp_path / "synth" / "test" / "blur" / "001.png").unlink()
    with pytest.raises(DatasetError, match="missing"):
        resolve_dataset(str(tmp_path / "synth"))


def test_unknown_kind_and_plain_folder(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'gopro'"):
        resolve_dataset(f"gorpo:{tmp_path}")
    with pytest.raises(DatasetError, match="no manifest.json"):
        resolve_dataset(str(tmp_path))
    with pytest.raises(DatasetError, match="not found"):
        resolve_dataset(f"gopro:{tmp_path / 'nothing'}")
    assert {
        "gopro",
        "gopro-gamma",
        "realblur-j",
        "realblur-r",
        "reloblur",
        "lode",
        "rsblur",
        "bsd",
        "reds",
        "hide",
        "folder",
        "manifest",
    } <= {k.name for k in list_dataset_kinds()}


def test_sample_arrays_refuse_pickled_objects(tmp_path):
    from lode_bench.datasets.types import Sample
    from lode_bench.errors import LodeBenchError

    p = tmp_path / "k.npy"
    np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    s = Sample("x", "x.png", arrays={"kernel": str(p)})
    with pytest.raises(LodeBenchError, match="cannot read 'kernel'"):
        s.array("kernel")
    with pytest.raises(LodeBenchError, match="no 'mask' array"):
        s.array("mask")
