"""A real miniature benchmark: two published crops (GoPro, RealBlur) and three methods.

The numbers in the store are computed here with scikit-image from the real images, so
the report is checked on genuine deblurring results.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.datasets.manifest import DatasetWriter, Manifest
from lode_bench.io.images import read_image

DATA = Path(__file__).resolve().parent.parent / "data" / "report"
SCENES = {"gopro": "gopro_GOPR0410_11_00-000205", "realblur": "realblur_scene050-6"}
METHODS = ("hi-diff", "restormer", "stripformer")
RUNTIME = {"identity": 0.0004, "hi-diff": 0.9, "restormer": 0.35, "stripformer": 0.2}
PARAMS = {"identity": 0, "hi-diff": 28.5e6, "restormer": 26.1e6, "stripformer": 19.7e6}


def masked_psnr(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """ReLoBlur PSNR_w from its definition (8-bit images, data range 1)."""
    d = (pred.astype(np.float64) - gt.astype(np.float64)) / 255.0
    mse = float((d**2 * mask[..., None]).sum() / mask.sum() / 3)
    return 10 * np.log10(1.0 / mse)


def score(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    return {
        "PSNR": float(peak_signal_noise_ratio(gt, pred, data_range=255)),
        "SSIM": float(
            structural_similarity(
                gt,
                pred,
                channel_axis=2,
                data_range=255,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
        ),
        "PSNR_w": masked_psnr(pred, gt, mask),
    }


@dataclass
class Bench:
    root: Path
    manifest: Manifest
    store: Path
    outputs: dict[str, Path]
    scores: dict[tuple[str, str], dict[str, float]]


def build_bench(tmp: Path, *, protocol: str = "lode", record_outputs: bool = True) -> Bench:
    w = DatasetWriter(tmp / "crops", "real-crops")
    images = {}
    for sid, stem in SCENES.items():
        blur = read_image(DATA / f"{stem}_blur.png")
        gt = read_image(DATA / f"{stem}_gt.png")
        mask = np.abs(blur.astype(int) - gt.astype(int)).mean(axis=2) > 6
        w.write_sample(
            sid,
            {"blur": blur, "sharp": gt, "mask": mask},
            extra={"mask_coverage": float(mask.mean())},
        )
        images[sid] = (blur, gt, mask)
    manifest = w.finalize()
    outputs = {}
    for m in METHODS:
        d = tmp / "outputs" / m
        d.mkdir(parents=True)
        for sid, stem in SCENES.items():
            shutil.copy(DATA / f"{stem}_{m}.png", d / f"{sid}.png")
        outputs[m] = d
    store = tmp / "results.sqlite"
    scores = {}
    with ResultsStore(store) as st:
        for m in ("identity", *METHODS):
            run = f"run-{m}"
            extra = {"train_set": "GoPro"}
            if m in outputs and record_outputs:
                extra["outputs_dir"] = str(outputs[m])
            st.start_run(
                run,
                model=m,
                dataset=str(manifest.root),
                dataset_hash=manifest.manifest_hash,
                protocol=protocol,
                protocol_version="1",
                params=PARAMS[m],
                extra=extra,
            )
            rows = []
            for sid, stem in SCENES.items():
                blur, gt, mask = images[sid]
                pred = blur if m == "identity" else read_image(DATA / f"{stem}_{m}.png")
                s = score(pred, gt, mask)
                scores[(m, sid)] = s
                rows.append(
                    ResultRow(
                        m,
                        "real-crops",
                        manifest.manifest_hash,
                        protocol,
                        "1",
                        sid,
                        metrics=s,
                        runtime_s=RUNTIME[m],
                        mask_coverage=float(mask.mean()),
                        run_id=run,
                    )
                )
            st.put(rows)
            st.finish_run(run)
    return Bench(manifest.root, manifest, store, outputs, scores)


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return build_bench(tmp_path)


@pytest.fixture
def make_bench():
    """The builder itself, for tests that need a variant."""
    return build_bench
