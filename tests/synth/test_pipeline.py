"""Recipes, the synthesis pipeline on disk (layout, manifest, determinism, errors, resume), CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.signal import convolve2d

from lode_bench.capture.frames import FolderFrameSource
from lode_bench.capture.response import CameraResponse
from lode_bench.cli.synth import synth
from lode_bench.datasets.manifest import DatasetWriter, load_manifest
from lode_bench.errors import ConfigError, ImageReadError, ShapeMismatchError, UnknownNameError
from lode_bench.io import read_image, read_mask, write_image
from lode_bench.synth.builtin import builtin_global_source
from lode_bench.synth.builtin_dataset import build_builtin_dataset
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.planning import plan_windows
from lode_bench.synth.recipes import list_recipes, load_recipe, validate_recipe
from lode_bench.synth.samples import NotEnoughFramesError

SHIPPED = {"gopro", "reds-like", "rsblur-like", "lode-local", "lode-local-shake", "lode-real-local"}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def frame_dir(tmp_path: Path) -> Path:
    """40 frames of the built-in pan, written as a frame folder."""
    src = builtin_global_source(n_frames=40, size=(48, 64), seed=3)
    d = tmp_path / "GOPR0001"
    for i in range(len(src)):
        write_image(d / f"{i:06d}.png", src.read(i))
    return d


# ---------------------------------------------------------------- recipes
def test_shipped_recipes_validate_with_stable_hash() -> None:
    assert SHIPPED <= set(list_recipes())
    for name in SHIPPED:
        a, b = load_recipe(name), load_recipe(name)
        assert a.recipe_hash == b.recipe_hash and len(a.recipe_hash) == 64
    assert load_recipe("gopro").recipe_hash != load_recipe("reds-like").recipe_hash


@pytest.mark.parametrize(
    "doc, key",
    [
        ({"kind": "global", "framez": {}}, "framez"),
        ({"kind": "global", "frames": {"nn": 3}}, "frames.nn"),
        ({"kind": "global", "frames": {"duty_cycle": 1.5}}, "frames.duty_cycle"),
        ({"kind": "local-objects", "objects": {"max_shift": "fast"}}, "objects.max_shift"),
        ({"kind": "global", "degradations": {"noise": {"beta1": 1}}}, "degradations.noise"),
        ({"kind": "blurry"}, "kind"),
        ({"frames": {"n": [7]}}, "kind"),
        ({"kind": "global", "response": "gama"}, "gama"),
        ({"kind": "global", "tracks": {"sharp": "gamma"}}, "tracks.sharp"),
    ],
)
def test_bad_recipe_names_the_key(tmp_path: Path, doc: dict, key: str) -> None:
    p = tmp_path / "bad.yaml"
    import yaml

    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as exc:
        load_recipe(p)
    assert key in str(exc.value) and "bad.yaml" in str(exc.value)


def test_unknown_recipe_name() -> None:
    with pytest.raises(UnknownNameError, match="gopr0"):
        load_recipe("gopr0")


def test_window_plan_disjoint_and_duty_cycle() -> None:
    w = plan_windows(100, [7, 9, 11, 13], 1.0, np.random.default_rng(0))
    ends = [s + n for s, n, _ in w]
    assert all(e <= s2 for e, (s2, _, _) in zip(ends, w[1:], strict=False)) and ends[-1] <= 100
    w2 = plan_windows(100, [5], 0.8, np.random.default_rng(0))
    assert [s for s, _, _ in w2[:3]] == [0, 5, 10]  # stride (5 - 1) / 0.8 = 5 (REDS)
    g = plan_windows(100, [7, 9], 1.0, np.random.default_rng(1), per_sequence=3)
    for grp in {x[2] for x in g}:
        assert len({n for _, n, gg in g if gg == grp}) == 1  # one n per GoPro sub-sequence


def test_reds_window_starts_every_five_frames_in_the_manifest(tmp_path: Path) -> None:
    """REDS: 5-frame windows at duty 0.8 span 4 intervals, so they start every 4/0.8 = 5."""
    src = builtin_global_source(n_frames=23, size=(32, 48), seed=2)
    d = tmp_path / "seq"
    for i in range(len(src)):
        write_image(d / f"{i:06d}.png", src.read(i))
    doc = {"kind": "global", "response": "srgb", "frames": {"n": [5], "duty_cycle": 0.8}}
    m = run_recipe(
        validate_recipe(doc, name="reds-stride"), tmp_path / "ds", source=d, progress=False
    )
    ranges = sorted(tuple(s["frame_range"]) for s in m.samples)
    assert ranges == [(0, 5), (5, 10), (10, 15), (15, 20)]
    assert sorted(s["target_frame"] for s in m.samples) == [2, 7, 12, 17]
    # the shipped reds-like recipe plans the same windows (planning only, no interpolation run)
    from lode_bench.synth.planning import plan_jobs

    jobs = plan_jobs(load_recipe("reds-like"), d, seed=0, size=(32, 48), limit=None)
    assert [(j.start, j.n) for j in jobs] == [(0, 5), (5, 5), (10, 5), (15, 5)]


def test_recipe_hash_records_changed_step_versions() -> None:
    """Recipes whose output changed get a new hash; others (built-in sets) keep theirs."""
    from lode_bench.synth.builtin_dataset import _builtin_recipe
    from lode_bench.synth.recipes import algorithm_versions

    assert algorithm_versions(load_recipe("reds-like").config) == {"window_stride": 2}
    assert algorithm_versions(load_recipe("rsblur-like").config) == {"degradations": 2}
    for r in (load_recipe("gopro"), _builtin_recipe("global"), _builtin_recipe("local")):
        assert algorithm_versions(r.config) == {}
    a = validate_recipe({"kind": "global", "frames": {"duty_cycle": 0.8}})
    b = validate_recipe({"kind": "global", "frames": {"duty_cycle": 1.0}})
    assert a.recipe_hash != b.recipe_hash


def test_window_stride_rule() -> None:
    from lode_bench.capture.timing import window_stride

    assert window_stride(5, 0.8) == 5 and window_stride(9, 0.8) == 10
    assert window_stride(7, 1.0) == 7  # GoPro: windows tile the source, never share a frame
    assert window_stride(7, 0.8) == 8  # 7.5 rounds half up
    assert window_stride(5, 0.5) == 8


# ---------------------------------------------------------------- GoPro layout + exact formula
def test_gopro_recipe_layout_and_formula_on_disk(frame_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    m = run_recipe(load_recipe("gopro"), out, source=frame_dir, progress=False)
    assert len(m.samples) >= 3
    src = FolderFrameSource(frame_dir)
    for s in m.samples:
        seq, name = s["id"].split("/")
        assert seq.startswith("GOPR0001_") and int(seq.split("_")[1]) == s["n_frames"]
        assert s["files"]["blur_gamma"] == f"train/{seq}/blur_gamma/{name}.png"
        a, b = s["frame_range"]
        frames = [src.read(i) for i in range(a, b)]
        assert b - a == s["n_frames"] and s["target_frame"] == a + (b - a) // 2 == int(name)
        ref_gamma = np.rint(
            np.clip(np.mean([(f / 255.0) ** 2.2 for f in frames], axis=0) ** (1 / 2.2), 0, 1) * 255
        ).astype(np.uint8)
        ref_srgb = np.rint(
            np.sum([f.astype(np.float64) for f in frames], axis=0) / len(frames)
        ).astype(np.uint8)
        np.testing.assert_array_equal(read_image(m.path_of(s, "blur_gamma")), ref_gamma)
        np.testing.assert_array_equal(read_image(m.path_of(s, "blur")), ref_srgb)
        np.testing.assert_array_equal(read_image(m.path_of(s, "sharp")), frames[(b - a) // 2])
        assert s["recipe"] == "gopro" and s["recipe_hash"] == load_recipe("gopro").recipe_hash
        assert s["kind"] == "global" and s["seed"] == 0
    assert m.verify(check_hashes=True) == []


def test_static_sequence_all_global_recipes(tmp_path: Path) -> None:
    """A static scene gives blur == sharp for noise-free global recipes (incl. interpolation)."""
    img = read_image_from_builtin()
    d = tmp_path / "static"
    for i in range(12):
        write_image(d / f"{i:06d}.png", img)
    for name in ("gopro", "reds-like"):
        m = run_recipe(load_recipe(name), tmp_path / name, source=d, progress=False, limit=2)
        for s in m.samples:
            sharp = read_image(m.path_of(s, "sharp"))
            for role in s["files"]:
                if role.startswith("blur"):
                    diff = np.abs(read_image(m.path_of(s, role)).astype(int) - sharp)
                    assert diff.max() <= (0 if name == "gopro" else 1), (
                        name,
                        role,
                    )  # interp: float32 warps


def read_image_from_builtin() -> np.ndarray:
    return builtin_global_source(n_frames=1, size=(40, 56), seed=0).read(0)


# ---------------------------------------------------------------- local recipes on disk
def test_local_recipes_outside_mask_exact(tmp_path: Path) -> None:
    for name in ("lode-local", "lode-local-shake", "lode-real-local"):
        m = run_recipe(load_recipe(name), tmp_path / name, size=(96, 128), limit=2, progress=False)
        for s in m.samples:
            blur, sharp = read_image(m.path_of(s, "blur")), read_image(m.path_of(s, "sharp"))
            mask = read_mask(m.path_of(s, "mask"))
            assert s["kind"] == "local" and s["mask_coverage"] == pytest.approx(mask.mean())
            required = {"frame_range", "n_frames", "recipe", "recipe_hash", "seed", "sha256"}
            assert required <= set(s) and s["recipe"] == name
            assert set(s["sha256"]) == set(s["files"])
            np.testing.assert_array_equal(blur[~mask], sharp[~mask])
            if name == "lode-local-shake":
                size_map = np.load(m.path_of(s, "blur_size"))
                np.testing.assert_array_equal(size_map > 0, mask)


# ---------------------------------------------------------------- determinism
def test_same_seed_identical_bytes(tmp_path: Path) -> None:
    for name in ("rsblur-like", "lode-local"):
        a, b = tmp_path / f"a-{name}", tmp_path / f"b-{name}"
        run_recipe(load_recipe(name), a, size=(64, 80), limit=2, progress=False)
        run_recipe(load_recipe(name), b, size=(64, 80), limit=2, progress=False)
        assert _tree(a) == _tree(b)
        c = tmp_path / f"c-{name}"
        run_recipe(load_recipe(name), c, size=(64, 80), limit=2, seed=5, progress=False)
        assert _tree(c)["manifest.json"] != _tree(a)["manifest.json"]


# ---------------------------------------------------------------- bad input
def _assert_no_sample(out: Path) -> None:
    assert not (out / "manifest.json").exists()
    assert [p for p in out.rglob("*.png")] == []


def test_frames_of_different_sizes(frame_dir: Path, tmp_path: Path) -> None:
    write_image(frame_dir / "000003.png", np.zeros((40, 64, 3), np.uint8))
    out = tmp_path / "o"
    with pytest.raises(ShapeMismatchError, match="000003.png"):
        run_recipe(load_recipe("gopro"), out, source=frame_dir, progress=False)
    _assert_no_sample(out)


def test_corrupt_frame(frame_dir: Path, tmp_path: Path) -> None:
    p = frame_dir / "000002.png"
    p.write_bytes(p.read_bytes()[:200])
    out = tmp_path / "o"
    with pytest.raises(ImageReadError, match="000002.png"):
        run_recipe(load_recipe("gopro"), out, source=frame_dir, progress=False)
    _assert_no_sample(out)


def test_fewer_frames_than_n(tmp_path: Path) -> None:
    d = tmp_path / "short"
    for i in range(5):
        write_image(d / f"{i:06d}.png", read_image_from_builtin())
    out = tmp_path / "o"
    with pytest.raises(NotEnoughFramesError, match="5 frames, fewer than the 7"):
        run_recipe(load_recipe("gopro"), out, source=d, progress=False)
    assert not out.exists() or [p for p in out.rglob("*.png")] == []


def test_unknown_recipe_key_cli(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("kind: global\nframes: {n: [7]}\nblurr: 3\n")
    res = CliRunner().invoke(synth, [str(p), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code != 0 and "blurr" in res.output
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- resume
def test_interrupted_run_resumes_to_same_result(
    frame_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    recipe = load_recipe("rsblur-like")
    ref = tmp_path / "ref"
    run_recipe(recipe, ref, source=frame_dir, progress=False)
    out = tmp_path / "out"
    calls = {"n": 0}
    real = DatasetWriter.write_sample

    def flaky(self, sample_id, images, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if (
            calls["n"] == 3
        ):  # killed while writing the third sample: one file lands, no journal line
            role, img = next(iter(images.items()))
            write_image(
                self.root / self.default_path(sample_id, kw.get("split", "test"), role), img[::2]
            )
            raise KeyboardInterrupt
        return real(self, sample_id, images, **kw)

    monkeypatch.setattr(DatasetWriter, "write_sample", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(recipe, out, source=frame_dir, progress=False)
    monkeypatch.setattr(DatasetWriter, "write_sample", real)
    assert not (out / "manifest.json").exists()
    t0 = {p: (out / p).stat().st_mtime_ns for p in _tree(out) if p.endswith(".png")}
    m = run_recipe(recipe, out, source=frame_dir, progress=False)
    assert _tree(out) == _tree(ref)
    assert m.manifest_hash == load_manifest(ref).manifest_hash
    first_two = [s for s in m.samples if s["sample_index"] < 2]
    for s in first_two:  # finished samples were skipped, not recomputed
        for rel in s["files"].values():
            assert (out / rel).stat().st_mtime_ns == t0[rel]


# ---------------------------------------------------------------- built-in dataset
def test_build_builtin_dataset_fast_and_consistent(tmp_path: Path) -> None:
    t = time.perf_counter()
    m = build_builtin_dataset(tmp_path / "b", kind="both", n_samples=4, size=(240, 320), seed=0)
    elapsed = time.perf_counter() - t
    assert elapsed < 30  # 8 samples; the contract is < 60 s on 2 cores
    assert len(m.samples) == 8
    kinds = {s["kind"] for s in m.samples}
    assert kinds == {"global", "local"}
    gamma = CameraResponse("gamma", 2.2)
    for s in m.samples:
        assert s["recipe_hash"] and s["seed"] == 0 and "frame_range" in s or s["kind"] == "local"
        blur, sharp = read_image(m.path_of(s, "blur")), read_image(m.path_of(s, "sharp"))
        assert blur.shape == (240, 320, 3)
        if s["kind"] == "global":
            k = np.load(m.path_of(s, "kernel"))
            assert k.sum() == pytest.approx(1.0) and k.shape[0] % 2 == 1
            lin_sharp = gamma.to_linear(sharp)
            pred = np.stack(
                [convolve2d(lin_sharp[..., c], k, mode="same") for c in range(3)], axis=2
            )
            r = k.shape[0] // 2 + 1
            enc = np.rint(gamma.from_linear(pred) * 255)
            err = np.abs(enc - blur)[r:-r, r:-r]
            assert err.max() <= 2 and err.mean() < 0.5  # tolerance: 8-bit quantisation of frames
        else:
            mask = read_mask(m.path_of(s, "mask"))
            np.testing.assert_array_equal(blur[~mask], sharp[~mask])
    again = build_builtin_dataset(tmp_path / "b", kind="both", n_samples=4, size=(240, 320), seed=0)
    assert again.manifest_hash == m.manifest_hash
    with pytest.raises(ConfigError, match="kind"):
        build_builtin_dataset(tmp_path / "x", kind="neither")  # type: ignore[arg-type]


def test_synth_cli(tmp_path: Path) -> None:
    r = CliRunner()
    res = r.invoke(synth, ["--list"])
    assert res.exit_code == 0 and "gopro" in res.output and "realblur-camera" in res.output
    res = r.invoke(
        synth,
        ["lode-local", "--out", str(tmp_path / "l"), "--limit", "2", "--size", "64x96", "--quiet"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "l" / "manifest.json").read_text())
    assert len(doc["samples"]) == 2 and doc["meta"]["recipe"] == "lode-local"
    res = r.invoke(
        synth,
        ["builtin", "--out", str(tmp_path / "b"), "--limit", "1", "--kind", "global", "--quiet"],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / "test" / "kernel" / "global_0000.npy").is_file()
    res = r.invoke(
        synth, ["gopro", "--out", str(tmp_path / "g"), "--source", str(tmp_path / "missing")]
    )
    assert res.exit_code != 0 and "missing" in res.output
    res = r.invoke(synth, ["lode-local", "--out", str(tmp_path / "z"), "--size", "big"])
    assert res.exit_code != 0 and "HxW" in res.output


def test_video_source_through_pipeline(tmp_path: Path) -> None:
    import cv2

    p = tmp_path / "v.avi"
    wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 240.0, (64, 48))
    src = builtin_global_source(n_frames=20, size=(48, 64), seed=1)
    for i in range(20):
        wr.write(np.ascontiguousarray(src.read(i)[..., ::-1]))
    wr.release()
    m = run_recipe(load_recipe("lode-real-local"), tmp_path / "o", source=p, progress=False)
    assert len(m.samples) >= 1 and m.samples[0]["source"] == "v"
    assert m.samples[0]["timestamps"][0] == 0.0


def test_recipe_validate_in_code() -> None:
    r = validate_recipe({"kind": "global", "frames": {"n": {"min": 7, "max": 13}}}, name="x")
    assert r.n_choices() == [7, 9, 11, 13] and r.name == "x"


# ---------------------------------------------------------------- folder sources
def test_object_library_folder_rgba_and_mask_files(tmp_path: Path) -> None:
    import cv2

    from lode_bench.synth.sources import object_library

    lib_dir = tmp_path / "lib"
    bg = builtin_global_source(n_frames=1, size=(72, 96), seed=2).read(0)
    write_image(lib_dir / "backgrounds" / "bg0.png", bg)
    # an RGBA PNG: a red disc with a soft edge (alpha written by OpenCV, BGRA order)
    yy, xx = np.mgrid[0:24, 0:24]
    alpha = np.clip(11.5 - np.hypot(yy - 11.5, xx - 11.5), 0, 1)
    bgra = np.zeros((24, 24, 4), np.uint8)
    bgra[..., 2] = 200
    bgra[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    (lib_dir / "objects").mkdir(parents=True)
    cv2.imwrite(str(lib_dir / "objects" / "disc.png"), bgra)
    # an image + mask pair
    write_image(lib_dir / "objects" / "box.png", np.full((10, 14, 3), 50, np.uint8))
    write_image(lib_dir / "objects" / "box.mask.png", np.full((10, 14), 255, np.uint8))
    lib = object_library(lib_dir, size=None)
    names = [n for n, _ in lib.objects]
    assert names == ["box", "disc"]
    disc = dict(lib.objects)["disc"]
    np.testing.assert_allclose(disc[..., 3], np.rint(alpha * 255) / 255, atol=1.5 / 255)
    inside = disc[..., 3] > 0.5
    np.testing.assert_allclose(disc[inside][:, 0], 200 / 255, atol=2 / 255)
    np.testing.assert_allclose(dict(lib.objects)["box"][..., 3], 1.0)
    m = run_recipe(
        load_recipe("lode-local"), tmp_path / "o", source=lib_dir, limit=2, progress=False
    )
    for s in m.samples:
        blur, sharp = read_image(m.path_of(s, "blur")), read_image(m.path_of(s, "sharp"))
        mask = read_mask(m.path_of(s, "mask"))
        assert blur.shape == (72, 96, 3) and mask.any()
        np.testing.assert_array_equal(blur[~mask], sharp[~mask])


def test_folder_of_sequences_and_flow_mask(frame_dir: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "all"
    shutil.copytree(frame_dir, root / "GOPR0001")
    shutil.copytree(frame_dir, root / "GOPR0002")
    m = run_recipe(load_recipe("gopro"), tmp_path / "o", source=root, progress=False)
    assert {s["source"] for s in m.samples} == {"GOPR0001", "GOPR0002"}
    recipe = validate_recipe(
        {
            "kind": "local-real",
            "frames": {"n": [5]},
            "mask": {"method": "both", "flow_threshold": 0.25},
        },
        name="flowy",
    )
    m2 = run_recipe(recipe, tmp_path / "f", size=(64, 80), limit=1, progress=False)
    s = m2.samples[0]
    fm = np.load(m2.path_of(s, "flow_magnitude"))
    assert fm.shape == (64, 80) and fm.dtype == np.float32 and fm.max() > 0.25


def test_frames_index_cannot_escape_folder(tmp_path: Path) -> None:
    from lode_bench.errors import UnsafePathError

    d = tmp_path / "f"
    d.mkdir()
    (d / "frames.json").write_text(
        json.dumps({"fps": 30, "frames": [{"name": "../x.png", "timestamp": 0}]})
    )
    with pytest.raises(UnsafePathError):
        FolderFrameSource(d)


def test_keys_for_another_kind_are_refused() -> None:
    with pytest.raises(ConfigError, match="'mask' does not apply to kind 'global'"):
        validate_recipe({"kind": "global", "mask": {"method": "diff"}})
    with pytest.raises(ConfigError, match="'degradations' does not apply"):
        validate_recipe({"kind": "local-objects", "degradations": None})


def test_local_real_in_gopro_layout(tmp_path: Path) -> None:
    recipe = validate_recipe(
        {"kind": "local-real", "layout": "gopro", "frames": {"n": [7]}}, name="real-gopro"
    )
    m = run_recipe(recipe, tmp_path / "o", size=(48, 64), limit=2, progress=False)
    s = m.samples[0]
    seq = s["id"].split("/")[0]
    assert s["files"]["mask"] == f"{recipe.split}/{seq}/mask/{s['id'].split('/')[1]}.png"
