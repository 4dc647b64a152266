"""The one folder index and the prediction-to-id pairing rule (io.folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lode_bench.errors import ImageReadError
from lode_bench.io import write_image
from lode_bench.io.folders import (
    AmbiguousNameError,
    colour_channels,
    id_forms,
    index_images,
    is_lossy,
    match_predictions,
    no_pairs_message,
)

IMG = np.zeros((4, 4, 3), np.uint8)


def _touch(*paths: Path) -> None:
    for p in paths:
        write_image(p, IMG)


def test_index_is_by_id_sorted_and_skips_hidden(tmp_path):
    _touch(
        tmp_path / "b.png",
        tmp_path / "a.jpg",
        tmp_path / "seq" / "001.png",
        tmp_path / ".hidden.png",
        tmp_path / ".cache" / "x.png",
    )
    (tmp_path / "notes.txt").write_text("x")
    assert list(index_images(tmp_path)) == ["a", "b"]
    assert list(index_images(tmp_path, recursive=True)) == ["a", "b", "seq/001"]


def test_two_files_with_one_id_are_refused_naming_both(tmp_path):
    _touch(tmp_path / "x.png", tmp_path / "x.jpg")
    with pytest.raises(AmbiguousNameError, match=r"x\.jpg and x\.png give the same sample id 'x'"):
        index_images(tmp_path)
    with pytest.raises(ImageReadError, match="folder not found"):
        index_images(tmp_path / "missing")


def test_id_forms_nested_flat_and_role_token():
    assert id_forms("GOPR0384_11_00/000001") == [
        "GOPR0384_11_00/000001",
        "GOPR0384_11_00-000001",
        "GOPR0384_11_00_000001",
    ]
    assert id_forms("scene050/blur_6")[3:] == ["scene050/6", "scene050-6", "scene050_6"]
    assert id_forms("flat") == ["flat"]


def test_flat_names_match_ids_whose_sequence_contains_underscores(tmp_path):
    ids = ["GOPR0384_11_00/000001", "GOPR0384_11_00/000002", "GOPR0410_11_00/000205"]
    _touch(
        tmp_path / "GOPR0384_11_00_000001.png",
        tmp_path / "GOPR0384_11_00-000002.png",
        tmp_path / "GOPR0410_11_00" / "000205.png",
        tmp_path / "GOPR0384_11_000001.png",
    )
    m = match_predictions(index_images(tmp_path, recursive=True), ids, where=tmp_path)
    assert {k: v.name for k, v in m.found.items()} == {
        "GOPR0384_11_00/000001": "GOPR0384_11_00_000001.png",
        "GOPR0384_11_00/000002": "GOPR0384_11_00-000002.png",
        "GOPR0410_11_00/000205": "000205.png",
    }
    assert m.extra == ["GOPR0384_11_000001"] and m.missing == []


def test_a_flat_name_that_could_mean_two_ids_is_refused(tmp_path):
    _touch(tmp_path / "A_1_2.png")
    with pytest.raises(AmbiguousNameError, match=r"A_1_2\.png.*'A_1/2'.*'A/1_2'"):
        match_predictions(index_images(tmp_path), ["A_1/2", "A/1_2"], where=tmp_path)


def test_two_predictions_for_one_id_are_refused(tmp_path):
    _touch(tmp_path / "s" / "1.png", tmp_path / "s-1.png")
    with pytest.raises(
        AmbiguousNameError, match=r"s-1\.png and s/1\.png are both outputs for 's/1'"
    ):
        match_predictions(index_images(tmp_path, recursive=True), ["s/1"], where=tmp_path)


def test_exact_id_wins_over_a_flat_form(tmp_path):
    """A ground-truth id that is itself the flat form of another id keeps its own file."""
    _touch(tmp_path / "a-b.png", tmp_path / "a" / "b.png")
    m = match_predictions(index_images(tmp_path, recursive=True), ["a/b", "a-b"], where=tmp_path)
    assert m.found["a-b"].name == "a-b.png" and m.found["a/b"] == tmp_path / "a" / "b.png"


def test_no_pairs_message_shows_forms_and_one_example_each(tmp_path):
    _touch(tmp_path / "frame000205.png")
    msg = no_pairs_message(tmp_path, ["GOPR0410_11_00/000205"], index_images(tmp_path), "gopro:X")
    assert "'GOPR0410_11_00/000205'" in msg and "GOPR0410_11_00-000205.png" in msg
    assert "GOPR0410_11_00_000205.png" in msg and "e.g. frame000205.png" in msg


def test_channels_and_lossy(tmp_path):
    write_image(tmp_path / "g.png", np.zeros((4, 4), np.uint8))
    write_image(tmp_path / "c.png", IMG)
    assert colour_channels(tmp_path / "g.png") == 1 and colour_channels(tmp_path / "c.png") == 3
    assert is_lossy("x.JPG") and is_lossy("x.jpeg") and not is_lossy("x.png")


def test_folder_loader_and_align_refuse_one_id_twice_through_the_index(tmp_path):
    from lode_bench.align.pairs import PairingError, find_pairs
    from lode_bench.datasets.registry import resolve_dataset
    from lode_bench.datasets.types import DatasetError

    root = tmp_path / "set"
    _touch(root / "blur" / "x.png", root / "sharp" / "x.png", root / "blur" / ".x.png")
    assert [s.id for s in resolve_dataset(f"folder:{root}").samples] == ["x"]  # hidden file skipped
    assert [p.pair_id for p in find_pairs(root).pairs] == ["x"]
    _touch(root / "sharp" / "x.jpg")
    with pytest.raises(DatasetError, match=r"x\.jpg and x\.png give the same sample id"):
        resolve_dataset(f"folder:{root}")
    with pytest.raises(PairingError, match=r"x\.jpg and x\.png give the same sample id"):
        find_pairs(root)


def test_folder_loader_refuses_a_png_and_an_npy_mask_for_one_id(tmp_path):
    from lode_bench.datasets.registry import resolve_dataset
    from lode_bench.datasets.types import DatasetError

    root = tmp_path / "set"
    _touch(root / "blur" / "x.png", root / "sharp" / "x.png", root / "mask" / "x.png")
    assert resolve_dataset(f"folder:{root}").samples[0].mask.endswith("x.png")
    np.save(root / "mask" / "x.npy", np.zeros((4, 4)))  # was silently preferred over x.png
    with pytest.raises(DatasetError, match=r"x\.npy and x\.png give the same sample id"):
        resolve_dataset(f"folder:{root}")
