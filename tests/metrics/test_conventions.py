"""Conventions of the protocols that are not a formula: 16-bit inputs, what each protocol
claims to reproduce, and the provenance that RealBlur-aligned numbers need."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data as skdata

from lode_bench.cli import main
from lode_bench.io.images import read_image
from lode_bench.metrics.protocols import get_protocol, list_protocols
from lode_bench.metrics.psnr import psnr
from lode_bench.metrics.scoring import ImagePair, score_pair
from tests.metrics.metrics_data import real_pair

TRUNCATING = (
    "basicsr",
    "basicsr-y",
    "deepdeblur",
    "realblur",
    "reloblur",
    "lode",
    "lode-legacy",
    "iqa",
)


@pytest.fixture
def pair16(tmp_path):
    """A 16-bit PNG pair (a photograph with random low bytes, and a noisy copy)."""
    rng = np.random.default_rng(5)
    gt8 = skdata.astronaut()[100:228, 140:300]
    gt = (gt8.astype(np.int64) * 256 + rng.integers(0, 256, gt8.shape)).astype(np.uint16)
    pred = np.clip(gt.astype(np.int64) + rng.normal(0, 1500, gt.shape).round(), 0, 65535)
    paths = []
    for name, img in (("gt", gt), ("pred", pred.astype(np.uint16))):
        p = tmp_path / f"{name}.png"
        assert cv2.imwrite(str(p), np.ascontiguousarray(img[..., ::-1]))
        paths.append(p)
    return paths[1], paths[0]


def test_read_image_16bit_rules(pair16):
    pred_path, _ = pair16
    native = read_image(pred_path, dtype="native")
    assert native.dtype == np.uint16
    np.testing.assert_array_equal(read_image(pred_path, depth16="truncate"), native >> 8)
    np.testing.assert_array_equal(read_image(pred_path), np.rint(native / 257.0).astype(np.uint8))
    with pytest.raises(ValueError, match="depth16"):
        read_image(pred_path, depth16="floor")


@pytest.mark.parametrize("name", ["basicsr", "realblur", "lode"])
def test_protocols_read_16bit_files_like_the_reference_loader(pair16, name):
    """The reference tools read with cv2.imread (8-bit): for a 16-bit PNG that is v >> 8."""
    pred_path, gt_path = pair16
    proto = get_protocol(name)
    assert proto.depth16 == "truncate"
    ref = [cv2.imread(str(p), cv2.IMREAD_COLOR)[..., ::-1] for p in (pred_path, gt_path)]
    mask_path = gt_path.with_name("mask.png")
    cv2.imwrite(str(mask_path), np.full(ref[1].shape[:2], 255, np.uint8))
    got = score_pair(ImagePair("x", pred_path, gt_path, mask_path), proto)
    assert got.ok, got.errors
    if name == "basicsr":
        assert got.values["PSNR"] == pytest.approx(psnr(*ref), abs=1e-12)
    want = proto.score(
        np.ascontiguousarray(ref[0]),
        np.ascontiguousarray(ref[1]),
        mask=np.ones(ref[1].shape[:2], bool),
    )
    assert got.values == pytest.approx(want.values, abs=1e-12)


def test_every_protocol_names_its_16bit_rule():
    rules = {p.name: p.depth16 for p in list_protocols()}
    assert {n: rules[n] for n in TRUNCATING} == dict.fromkeys(TRUNCATING, "truncate")
    assert rules["gopro"] == "round"  # MATLAB keeps 16 bits: no 8-bit rule is the reference
    assert "16 bits" in get_protocol("gopro").notes


def test_ls_protocols_shows_16bit_rule_and_opencv_dependence():
    res = CliRunner().invoke(main, ["ls", "protocols"], catch_exceptions=False)
    assert res.exit_code == 0
    block = res.output.split("realblur@2")[1].split("@")[0]
    assert "v >> 8" in block and "OpenCV version" in block
    res = CliRunner().invoke(main, ["ls", "protocols", "--json"], catch_exceptions=False)
    doc = {p["name"]: p for p in json.loads(res.output)}
    assert doc["realblur"]["depth16"] == "truncate" and "OpenCV" in doc["reloblur"]["notes"]
    assert doc["gopro"]["depth16"] == "round"


def test_basicsr_does_not_claim_nafnet_gopro_numbers():
    """NAFNet's GoPro test calls calculate_ssim with ssim3d=True, i.e. the 3-D MATLAB SSIM of
    'gopro'; per-channel SSIM ('basicsr') is a different number on the same crop."""
    out, gt = real_pair("gopro", "restormer")
    s3d = get_protocol("gopro").score(out, gt).values["SSIM"]
    s2d = get_protocol("basicsr").score(out, gt).values["SSIM"]
    assert abs(s3d - s2d) > 0.01
    assert "NAFNet" in get_protocol("gopro").reproduces
    basicsr = get_protocol("basicsr").reproduces
    assert "Not NAFNet" in basicsr and "MIMO-UNet" not in basicsr


def test_run_provenance_records_the_opencv_library_version():
    from lode_bench.bench.provenance import package_versions

    assert package_versions()["opencv"] == cv2.__version__
