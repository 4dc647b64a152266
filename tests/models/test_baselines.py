"""Classical baselines and adapters (TorchScript, external command, folder of outputs)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy import ndimage

from lode_bench.datasets.types import Sample
from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io import read_image, write_image
from lode_bench.models import ModelSpec, load_model


def _sample_with_kernel(tmp_path, k):
    p = tmp_path / "k.npy"
    np.save(p, k)
    return Sample("s1", "b.png", arrays={"kernel": str(p)})


def _blurred(photo, k):
    img = photo[100:164, 200:272].astype(np.float64) / 255
    return np.stack(
        [ndimage.convolve(img[..., c], k, mode="reflect") for c in range(3)], -1
    ).astype(np.float32)


def test_unsharp_matches_hand_formula(photo):
    img = photo[:40, :50].astype(np.float32) / 255
    m = load_model(ModelSpec("unsharp"))
    out = m.deblur(img, Sample("a", "a"))
    g = np.stack(
        [
            ndimage.gaussian_filter(img[..., c].astype(np.float64), 2.0, mode="reflect")
            for c in range(3)
        ],
        -1,
    )
    np.testing.assert_allclose(out, img + (img - g), atol=1e-5)


def test_wiener_and_rl_equal_skimage_per_channel(tmp_path, photo):
    from skimage.restoration import richardson_lucy, wiener

    k = np.zeros((7, 7))
    k[3, :] = 1.0  # horizontal motion, unnormalised on purpose (the model normalises)
    s = _sample_with_kernel(tmp_path, k)
    blurry = _blurred(photo, k / k.sum())
    kn = k / k.sum()
    padded = np.pad(blurry.astype(np.float64), ((14, 14), (14, 14), (0, 0)), mode="symmetric")
    w = load_model(ModelSpec("wiener")).deblur(blurry, s)
    ref_w = np.stack([wiener(padded[..., c], kn, 0.01, clip=False) for c in range(3)], -1)[
        14:-14, 14:-14
    ]
    np.testing.assert_allclose(w, ref_w, atol=1e-5)
    rl = load_model(ModelSpec("richardson-lucy")).deblur(blurry, s)
    ref_rl = np.stack(
        [richardson_lucy(padded[..., c], kn, num_iter=30, clip=False) for c in range(3)], -1
    )[14:-14, 14:-14]
    np.testing.assert_allclose(rl, ref_rl, atol=1e-5)
    # non-blind deconvolution with the true kernel beats the blurry input
    sharp = photo[100:164, 200:272].astype(np.float64) / 255
    inner = (slice(8, -8), slice(8, -8))
    err_blurry = np.mean((blurry[inner] - sharp[inner]) ** 2)
    assert np.mean((rl[inner] - sharp[inner]) ** 2) < err_blurry
    assert np.mean((w[inner] - sharp[inner]) ** 2) < err_blurry


def test_non_blind_without_kernel_is_an_error():
    img = np.zeros((8, 8, 3), np.float32)
    for name in ("wiener", "richardson-lucy"):
        with pytest.raises(LodeBenchError, match="no 'kernel' array"):
            load_model(ModelSpec(name)).deblur(img, Sample("noker", "x"))


def test_bad_kernel_is_an_error(tmp_path):
    s = _sample_with_kernel(tmp_path, np.zeros((3, 3)))
    with pytest.raises(LodeBenchError, match="positive sum"):
        load_model(ModelSpec("wiener")).deblur(np.zeros((8, 8, 3), np.float32), s)


def test_identity_is_exact():
    img = np.arange(60, dtype=np.float32).reshape(4, 5, 3) / 255
    assert load_model(ModelSpec("identity")).deblur(img, Sample("a", "a")) is img
    with pytest.raises(LodeBenchError, match="takes no checkpoint"):
        load_model(ModelSpec("identity", "w.pth"))


def test_torchscript_adapter(tmp_path):
    class Half(torch.nn.Module):
        def forward(self, x):
            return x * 0.5

    path = tmp_path / "half.pt"
    torch.jit.save(torch.jit.script(Half()), str(path))
    m = load_model(ModelSpec("torchscript", str(path)), device="cpu")
    img = np.random.default_rng(0).random((10, 12, 3), dtype=np.float32)
    np.testing.assert_allclose(m.deblur(img, Sample("a", "a")), img * 0.5, atol=1e-7)
    exported = tmp_path / "half.pt2"
    torch.export.save(torch.export.export(Half(), (torch.rand(1, 3, 10, 12),)), str(exported))
    m2 = load_model(ModelSpec("torchscript", str(exported)), device="cpu")
    np.testing.assert_allclose(m2.deblur(img, Sample("a", "a")), img * 0.5, atol=1e-7)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    with pytest.raises(LodeBenchError, match="not a TorchScript"):
        load_model(ModelSpec("torchscript", str(bad)), device="cpu")


def test_folder_adapter(tmp_path):
    out = tmp_path / "outs"
    img = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    write_image(out / "seq" / "001.png", img)
    m = load_model(ModelSpec("folder", str(out)))
    got = m.deblur(np.zeros((1, 1, 3), np.float32), Sample("seq/001", "x"))
    assert got.dtype == np.uint8 and np.array_equal(got, img)
    with pytest.raises(ImageReadError, match="no output image"):
        m.deblur(np.zeros((1, 1, 3), np.float32), Sample("seq/002", "x"))
    with pytest.raises(LodeBenchError, match="not found"):
        load_model(ModelSpec("folder", str(tmp_path / "missing")))


def test_command_adapter_runs_once_and_resumes(tmp_path):
    src = tmp_path / "in"
    rng = np.random.default_rng(0)
    samples = []
    for i in range(3):
        p = src / f"{i}.png"
        write_image(p, rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
        samples.append(Sample(f"a/{i}", str(p)))
    script = tmp_path / "invert.py"
    script.write_text(
        "import sys, pathlib, cv2\n"
        "inp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
        "log = pathlib.Path(sys.argv[3]); log.write_text(log.read_text() + 'x' if log.exists() else 'x')\n"
        "for p in inp.rglob('*.png'):\n"
        "    q = out / p.relative_to(inp); q.parent.mkdir(parents=True, exist_ok=True)\n"
        "    cv2.imwrite(str(q), 255 - cv2.imread(str(p)))\n"
    )
    log = tmp_path / "calls.txt"
    cmd = f"{sys.executable} {script} {{input}} {{output}} {log}"
    work = tmp_path / "work"
    m = load_model(ModelSpec("command", cmd, {"workdir": str(work)}))
    m.prepare_dataset(samples, tmp_path)
    for s in samples:
        assert np.array_equal(m.deblur(np.zeros(1), s), 255 - read_image(s.blur))
    m2 = load_model(ModelSpec("command", cmd, {"workdir": str(work)}))
    m2.prepare_dataset(samples, tmp_path)  # outputs exist: the command is not run again
    assert log.read_text() == "x"
    failing = load_model(
        ModelSpec(
            "command",
            f"{sys.executable} -c 'import sys; sys.exit(3)' {{input}} {{output}}",
            {"workdir": str(tmp_path / "w2")},
        )
    )
    with pytest.raises(LodeBenchError, match="exited with 3"):
        failing.prepare_dataset(samples, tmp_path)
    with pytest.raises(LodeBenchError, match="must contain"):
        load_model(ModelSpec("command", "deblur --in a"))
