"""The built-in sample is the same bits on every supported library version and CPU.

numpy's SIMD ``sin``/``cos``/``power``, OpenBLAS's dot kernels and OpenCV's warp tables
change in the last bit (or more) between releases and CPUs. The steps of the built-in
generation that fed such values into the saved files now use math / element-wise float64
only; these tests perturb the library functions by one ulp and check that nothing moves.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lode_bench.synth import builtin
from lode_bench.synth.builtin import OFFSET_STEP, smooth_trajectory
from lode_bench.synth.builtin_dataset import build_builtin_dataset
from lode_bench.synth.local_objects import ObjectMotion, _warp_rgba


def _ulp_up(f):
    return lambda *a, **k: np.nextafter(f(*a, **k), np.inf)


def test_trajectory_ignores_the_last_bit_of_numpy_trig_and_blas(monkeypatch):
    ref = [smooth_trajectory(np.random.default_rng([0, 0, i]), 11) for i in range(20)]
    monkeypatch.setattr(np, "sin", _ulp_up(np.sin))
    monkeypatch.setattr(np, "cos", _ulp_up(np.cos))
    monkeypatch.setattr(np.linalg, "norm", _ulp_up(np.linalg.norm))
    for i, r in enumerate(ref):
        again = smooth_trajectory(np.random.default_rng([0, 0, i]), 11)
        np.testing.assert_array_equal(again, r)
        assert np.all(again == np.round(again / OFFSET_STEP) * OFFSET_STEP)
        assert np.all(again[5] == 0.0)


def test_object_warp_is_exact_bilinear_sampling():
    """Against scipy's order-1 spline sampling (bilinear) of the inverse map, zero outside."""
    rng = np.random.default_rng(3)
    obj = rng.random((37, 52, 4)).astype(np.float32)
    canvas = (90, 120)
    for mo, t in [
        (ObjectMotion(cx=60.3, cy=41.7, vx=0.9, vy=-0.4, scale_rate=0.01, rot_rate_deg=0.3), 3.0),
        (ObjectMotion(cx=2.5, cy=88.2), 0.0),  # mostly off the canvas
        (ObjectMotion(cx=60.0, cy=45.0, rot_rate_deg=-7.0), 2.0),
    ]:
        m = mo.affine(t, obj.shape[:2])
        got = _warp_rgba(obj, m, canvas)
        a, b = m[:, :2], m[:, 2]
        inv = np.linalg.inv(a)
        yy, xx = np.mgrid[0 : canvas[0], 0 : canvas[1]].astype(np.float64)
        sx = inv[0, 0] * (xx - b[0]) + inv[0, 1] * (yy - b[1])
        sy = inv[1, 0] * (xx - b[0]) + inv[1, 1] * (yy - b[1])
        ref = np.stack(
            [
                ndimage.map_coordinates(
                    obj[..., c].astype(np.float64),
                    [sy, sx],
                    order=1,
                    mode="grid-constant",
                    cval=0.0,
                )
                for c in range(4)
            ],
            axis=-1,
        )
        ref[ref[..., 3] <= 1e-6] = 0.0
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-7)  # float32 output rounding


def test_object_pose_is_getrotationmatrix2d():
    cv2 = pytest.importorskip("cv2")
    mo = ObjectMotion(cx=100.3, cy=80.7, vx=0.9, vy=-0.4, scale_rate=0.01, rot_rate_deg=0.3)
    ref = cv2.getRotationMatrix2D((69 / 2.0, 49 / 2.0), 0.9, 1.03)
    ref[0, 2] += 100.3 + 0.9 * 3 - 69 / 2.0
    ref[1, 2] += 80.7 - 0.4 * 3 - 49 / 2.0
    np.testing.assert_allclose(mo.affine(3.0, (50, 70)), ref, rtol=0, atol=1e-12)


def test_manifest_records_the_generator_versions(tmp_path):
    m = build_builtin_dataset(tmp_path / "ds", kind="global", n_samples=1, size=(64, 80))
    v = m.meta["generator_versions"]
    assert v["numpy"] == np.__version__ and "opencv" in v and "python" in v
    assert builtin.OFFSET_STEP == 2.0**-20
