"""End-to-end runs: identity and a random-weight network on a tiny dataset, error rows,
resume, provenance, saved outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lode_bench.bench.runner import run_benchmark
from lode_bench.bench.store import ResultsStore
from lode_bench.datasets.registry import resolve_dataset
from lode_bench.errors import LodeBenchError
from lode_bench.io import read_image
from lode_bench.models import ModelSpec, load_model
from lode_bench.parallel.executor import LocalExecutor

SMALL_NAF = {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}


def _ssim_gauss(a, b):
    return structural_similarity(
        a,
        b,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )


def test_identity_reproduces_known_values_in_a_process_pool(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    with LocalExecutor(2, "process") as ex:
        s = run_benchmark("identity", str(tiny), "deepdeblur", store, progress=False, executor=ex)
    assert (s.n_total, s.n_ok, s.n_error, s.n_skipped) == (7, 7, 0, 0)
    with ResultsStore(store) as st:
        rows = {r.image_id: r for r in st.rows()}
    # published fixture values of the real GoPro crop (blurry input vs ground truth)
    assert rows["crop"].metrics["PSNR"] == pytest.approx(20.8356, abs=1e-4)
    assert rows["crop"].metrics["SSIM"] == pytest.approx(0.5266, abs=1e-4)
    ds = resolve_dataset(str(tiny))
    for smp in ds.samples:  # every row against scikit-image directly
        b, g = read_image(smp.blur), read_image(smp.sharp)
        assert rows[smp.id].metrics["PSNR"] == pytest.approx(
            peak_signal_noise_ratio(g, b, data_range=255), abs=1e-9
        )
        assert rows[smp.id].metrics["SSIM"] == pytest.approx(_ssim_gauss(g, b), abs=1e-9)
        assert rows[smp.id].model == "identity" and rows[smp.id].dataset_hash == ds.version_hash
    assert s.means["PSNR"] == pytest.approx(np.mean([r.metrics["PSNR"] for r in rows.values()]))
    assert s.timing["images_per_s"] > 0


def test_random_weight_network_end_to_end_with_saved_outputs(tiny, tmp_path):
    store, outs = tmp_path / "r.sqlite", tmp_path / "outs"
    with LocalExecutor(1, "thread") as ex:
        s = run_benchmark(
            "nafnet",
            str(tiny),
            "deepdeblur",
            store,
            random_weights=True,
            model_options=SMALL_NAF,
            device="cpu",
            save_outputs=outs,
            progress=False,
            executor=ex,
            seed=3,
        )
    assert (
        s.n_ok == 7
        and s.model
        == "nafnet@random3[dec_blk_nums=[1, 1],enc_blk_nums=[1, 1],middle_blk_num=1,width=8]"
    )
    assert s.params and s.flops and s.timing["mean_runtime_s"] > 0
    model = load_model(
        ModelSpec("nafnet", options=SMALL_NAF, random_weights=True, seed=3), device="cpu"
    )
    ds = resolve_dataset(str(tiny))
    with ResultsStore(store) as st:
        rows = {r.image_id: r for r in st.rows()}
        runs = st.runs_frame()
    for smp in ds.samples:
        saved = read_image(outs / f"{smp.id}.png")
        direct = model.deblur(read_image(smp.blur, dtype="float32"), smp)
        np.testing.assert_array_equal(
            saved, np.clip(np.round(direct * 255), 0, 255).astype(np.uint8)
        )
        g = read_image(smp.sharp)
        assert rows[smp.id].metrics["PSNR"] == pytest.approx(
            peak_signal_noise_ratio(g, saved, data_range=255), abs=1e-9
        )
        assert rows[smp.id].runtime_s > 0
    run = runs.iloc[-1]
    assert run.status == "finished" and run.device == "cpu" and run.precision == "float32"
    assert run.params == s.params and run.seed == 3 and run.protocol == "deepdeblur"
    pk = json.loads(run.packages)
    assert "numpy" in pk and "torch" in pk
    extra = json.loads(run.extra)
    assert extra["flops_input"] == [256, 256] and extra["model_card"]["pad_multiple"] == 16


def test_resume_skips_stored_rows(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    with LocalExecutor(1, "serial") as ex:
        first = run_benchmark(
            "identity", str(tiny), "deepdeblur", store, progress=False, executor=ex, limit=3
        )
        second = run_benchmark(
            "identity", str(tiny), "deepdeblur", store, progress=False, executor=ex
        )
    assert (first.n_ok, second.n_ok, second.n_skipped) == (3, 4, 3)
    with ResultsStore(store) as st:
        rows = st.rows()
        assert len(rows) == 7 and len({r.run_id for r in rows}) == 2
        assert len(st.runs_frame()) == 2


def test_one_bad_image_is_one_error_row(tiny, tmp_path, faulty_model):
    # corrupt one blurry file (truncated PNG) on top of the model's own faults
    victim = tiny / "test" / "blur" / "s004.png"
    victim.write_bytes(victim.read_bytes()[:40])
    ds = resolve_dataset(str(tiny), verify=False)
    store = tmp_path / "r.sqlite"
    with LocalExecutor(2, "thread") as ex:
        s = run_benchmark(faulty_model, ds, "deepdeblur", store, progress=False, executor=ex)
    assert (s.n_ok, s.n_error) == (3, 4)
    with ResultsStore(store) as st:
        rows = {r.image_id: r for r in st.rows()}
    assert "NaN" in rows["s001"].error and rows["s001"].status == "error"
    assert "shape (31, 40, 3)" in rows["s002"].error
    assert "RuntimeError: model crashed" in rows["s003"].error
    assert "truncated PNG" in rows["s004"].error and "s004.png" in rows["s004"].error
    for ok in ("crop", "s000", "s005"):
        assert rows[ok].status == "ok" and rows[ok].error is None
    # errors are not recomputed on resume unless asked
    with LocalExecutor(1, "serial") as ex:
        again = run_benchmark(faulty_model, ds, "deepdeblur", store, progress=False, executor=ex)
        retry = run_benchmark(
            faulty_model, ds, "deepdeblur", store, progress=False, executor=ex, retry_errors=True
        )
    assert again.n_skipped == 7 and (retry.n_skipped, retry.n_error) == (3, 4)


def test_driver_model_nan_and_shape_errors(tiny, tmp_path):
    import torch

    from lode_bench.models import MODELS, ModelCard, register_model

    class Bad(torch.nn.Module):
        def forward(self, x):
            if x.shape[-1] == 128:  # the crop (125 wide, padded to 128): wrong size out
                return x[..., :-4, :]
            return x * float("nan")

    if "test-bad-torch" not in MODELS:
        register_model(
            ModelCard(
                name="test-bad-torch",
                kind="torch",
                factory=Bad,
                description="t",
                needs_checkpoint=False,
                pad_multiple=4,
            )
        )
    with LocalExecutor(1, "thread") as ex:
        s = run_benchmark(
            "test-bad-torch",
            str(tiny),
            "deepdeblur",
            tmp_path / "r.sqlite",
            device="cpu",
            progress=False,
            executor=ex,
            warmup=0,
        )
    assert s.n_error == 7 and s.n_ok == 0
    msgs = dict(s.errors)
    assert "differs from" in msgs["crop"] and "NaN" in msgs["s000"]


def test_precomputed_folder_adapter_scores_published_output(tiny, tmp_path, copy_crop_outputs):
    ds = resolve_dataset(str(tiny))
    crop_only = type(ds)(
        ds.name, ds.kind, ds.root, [s for s in ds.samples if s.id == "crop"], ds.version_hash
    )
    with LocalExecutor(1, "serial") as ex:
        s = run_benchmark(
            f"folder={copy_crop_outputs}",
            crop_only,
            "deepdeblur",
            tmp_path / "r.sqlite",
            progress=False,
            executor=ex,
        )
    assert s.model == "folder@outputs"
    assert s.means["PSNR"] == pytest.approx(25.3899, abs=1e-4)  # published fixture value
    assert s.means["SSIM"] == pytest.approx(0.8682, abs=1e-4)


def test_non_blind_baselines_use_the_kernel(tiny, tmp_path):
    with LocalExecutor(1, "serial") as ex:
        s = run_benchmark(
            "wiener", str(tiny), "deepdeblur", tmp_path / "r.sqlite", progress=False, executor=ex
        )
    assert s.n_ok == 6 and s.n_error == 1  # the crop has no kernel
    assert "no 'kernel' array" in dict(s.errors)["crop"]


def test_bad_requests_fail_before_any_row(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    with pytest.raises(LodeBenchError, match="needs a checkpoint"):
        run_benchmark("restormer", str(tiny), "deepdeblur", store, progress=False)
    with pytest.raises(LodeBenchError, match="unknown protocol"):
        run_benchmark("identity", str(tiny), "gopr", store, progress=False)
    with pytest.raises(LodeBenchError, match="unknown options"):
        run_benchmark("identity", str(tiny), "deepdeblur", store, progress=False, colour="red")
    with ResultsStore(store) as st:
        assert st.rows() == []


def test_prefetch_keeps_order_and_reports_unreadable_files(tiny):
    from lode_bench.bench.runner import _prefetch

    ds = resolve_dataset(str(tiny))
    victim = tiny / "test" / "blur" / "s002.png"
    victim.write_bytes(b"\x89PNG\r\n\x1a\n")  # signature only
    got = list(_prefetch(ds.samples, depth=3, needs_input=True))
    assert [s.id for s, _ in got] == [s.id for s in ds.samples]
    for s, img in got:
        if s.id == "s002":
            assert isinstance(img, LodeBenchError) and "s002.png" in str(img)
        else:
            np.testing.assert_array_equal(img, read_image(s.blur, dtype="float32"))
    assert all(img is None for _, img in _prefetch(ds.samples, depth=2, needs_input=False))
