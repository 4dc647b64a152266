"""The ``align`` click command, run with click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from lode_bench.align.simulate import simulate_pair
from lode_bench.cli.align import align_command
from lode_bench.datasets.manifest import load_manifest
from lode_bench.io import write_image


def _folder(root: Path, scenes, textures) -> Path:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(77)
    for i in range(2):
        p = simulate_pair(
            scenes[i],
            (160, 240),
            rng,
            object_fraction=0.12,
            object_texture=textures[i],
            motion_length=16.0,
        )
        write_image(root / "blur" / f"blur_{i}.png", p.blur)
        write_image(root / "gt" / f"gt_{i}.png", p.sharp)
    (root / "gt" / "gt_9.png").write_bytes(b"not a png")
    write_image(root / "blur" / "blur_9.png", p.blur)
    return root


def test_cli_local_run_reports_counts(tmp_path: Path, scenes, textures) -> None:  # type: ignore[no-untyped-def]
    src = _folder(tmp_path / "in", scenes, textures)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        align_command, [str(src), "--out", str(out), "--local", "--min-area", "50"]
    )
    assert res.exit_code == 1, res.output  # one pair failed: status 1, the others written
    assert "3 pairs: 2 ok, 0 flagged, 1 failed; 0 unmatched files" in res.output
    assert "FAILED 9:" in res.output
    man = load_manifest(out)
    assert len(man.samples) == 2 and all("mask" in s["files"] for s in man.samples)
    assert man.meta["config"]["photometric"]["method"] == "lstsq"
    assert (out / "qc.csv").is_file() and (out / "qc_overview.png").is_file()

    strict = CliRunner().invoke(
        align_command,
        [
            str(src),
            "--out",
            str(tmp_path / "o2"),
            "--global",
            "--motion",
            "affine",
            "--strict",
            "--overview-count",
            "0",
        ],
    )
    assert strict.exit_code == 1
    man2 = load_manifest(tmp_path / "o2")
    assert man2.meta["config"]["photometric"]["method"] == "meanstd"
    assert all("mask" not in s["files"] for s in man2.samples)
    assert not (tmp_path / "o2" / "qc_overview.png").exists()


def test_cli_rejects_bad_options_and_layouts(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(align_command, [str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no pairs found" in r.output
    r = CliRunner().invoke(
        align_command, [str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--motion", "spline"]
    )
    assert r.exit_code == 2 and "spline" in r.output
    r = CliRunner().invoke(
        align_command,
        [str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--kernel-size", "64"],
    )
    assert r.exit_code == 2 and "odd" in r.output


def test_cli_writes_lode_style_flow_maps(tmp_path: Path, scenes, textures) -> None:  # type: ignore[no-untyped-def]
    """--save-flow: a float32 flow-magnitude .npy per pair next to its PNG mask, rule recorded."""
    from lode_bench.align.flow import deepflow_available, flow_magnitude
    from lode_bench.io import read_image

    src = _folder(tmp_path / "in", scenes, textures)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        align_command,
        [
            str(src),
            "--out",
            str(out),
            "--local",
            "--min-area",
            "50",
            "--mask-method",
            "union",
            "--save-flow",
        ],
    )
    assert res.exit_code == 1, res.output  # the broken pair 9 failed; the others are written
    man = load_manifest(out)
    assert not man.verify(check_hashes=True)
    for s in man.samples:
        assert {"blur", "sharp", "mask", "flow_magnitude"} <= set(s["files"])
        fm = np.load(man.path_of(s, "flow_magnitude"))
        assert fm.dtype == np.float32 and fm.shape == tuple(s["size"])
        # the saved map is the flow between the written images (up to their 8-bit rounding)
        ref = flow_magnitude(
            read_image(man.path_of(s, "blur")), read_image(man.path_of(s, "sharp"))
        )
        assert np.median(np.abs(ref - fm)) < 0.05
        assert s["flow_magnitude_rule"] == "LODE: flow magnitude > 0.25 px (dis)"
        assert "or flow magnitude > 1 px (dis)" in s["mask_rule"]
    assert man.meta["config"]["mask"]["save_flow"] is True
    if not deepflow_available():
        r = CliRunner().invoke(
            align_command,
            [
                str(src),
                "--out",
                str(tmp_path / "o3"),
                "--local",
                "--mask-method",
                "flow",
                "--flow-method",
                "deepflow",
            ],
        )
        assert r.exit_code == 2 and "opencv-contrib-python-headless" in r.output
