"""Speed and agreement of lode-bench's NIQE (LIVE convention) on a 1280×720 real blurry photo.

Compares, in the same run, on the same grey image (MATLAB ``rgb2gray``, rounded) and with
the same pristine model (BasicSR's ``niqe_pris_params.npz``, shipped in tests/data):

* lode-bench ``niqe_score`` (vectorised NumPy, float64);
* BasicSR 1.4.2 ``basicsr.metrics.niqe.niqe`` (per-block Python loop; its second scale
  is resized in float32), when ``basicsr`` is installed (its package ``__init__`` no longer
  imports with current torchvision, so only ``basicsr.metrics`` is loaded);
* IQA-PyTorch ``pyiqa.create_metric('niqe')`` on the CPU, when ``pyiqa`` is installed.

Prints the values (they agree within 0.1 on this photo, which has flat areas where the
sign of float rounding residues enters the AGGD fit and the references round the second
scale or the AGGD table differently; see tests/metrics/test_niqe.py), median times
and the speed ratio against the faster reference. Target: ≥ 3×.

Usage: python benchmarks/bench_niqe.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "metrics"


def _basicsr() -> types.ModuleType | None:
    spec = importlib.util.find_spec("basicsr")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = types.ModuleType("basicsr")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("basicsr", pkg)
    import basicsr.metrics.niqe as bn

    return bn


def interleaved(fns: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every function once per round (round-robin) so load changes hit all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch / BLAS threads (default 1)")
    args = ap.parse_args()
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    from lode_bench.io import read_image
    from lode_bench.metrics.niqe import niqe_score, read_niqe_model, to_grey255

    img = read_image(DATA / "real_blurry" / "nafnet_demo_blurry.jpg", dtype="uint8")
    assert img.shape == (720, 1280, 3), img.shape
    grey = to_grey255(img)
    model_path = DATA / "niqe" / "niqe_pris_params.npz"
    model = read_niqe_model(model_path)
    fns: dict[str, Callable[[], float]] = {"lode-bench": lambda: niqe_score(grey, model)}
    bn = _basicsr()
    if bn is not None:
        z = np.load(model_path)
        fns["basicsr"] = lambda: float(
            bn.niqe(grey, z["mu_pris_param"], z["cov_pris_param"], z["gaussian_window"])
        )
    try:
        import tempfile

        import pyiqa
        import torch

        torch.set_num_threads(args.threads)
        mat = Path(tempfile.mkdtemp()) / "niqe_live.mat"
        model.save(mat)
        metric = pyiqa.create_metric("niqe", device="cpu", pretrained_model_path=str(mat))
        t = torch.from_numpy(grey / 255.0)[None, None]

        def run_pyiqa() -> float:
            with torch.no_grad():
                return float(metric(t))

        fns["pyiqa"] = run_pyiqa
    except ImportError:
        pass
    values = {k: fn() for k, fn in fns.items()}  # also warms up
    times = interleaved(fns, args.repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"NIQE (LIVE model) on a 1280×720 photo, {args.repeats} rounds, {args.threads} thread(s)")
    for k in fns:
        print(f"  {k:<11} value {values[k]:.4f}  median {med[k] * 1e3:8.1f} ms")
    refs = [k for k in fns if k != "lode-bench"]
    for k in refs:
        diff = abs(values[k] - values["lode-bench"])
        print(f"  |lode-bench − {k}| = {diff:.4f} ({'ok' if diff <= 0.1 else 'ABOVE 0.1'})")
    if refs:
        fastest = min(refs, key=lambda k: med[k])
        ratio = med[fastest] / med["lode-bench"]
        print(f"speed-up vs the faster reference ({fastest}): {ratio:.1f}× (target ≥ 3×)")
    else:
        print("no reference installed (basicsr / pyiqa): nothing to compare")


if __name__ == "__main__":
    main()
