"""Reference NIQE values of BasicSR and IQA-PyTorch on the TID2013 test images (run once).

Writes ``tests/data/metrics/niqe/reference_values.json``, which the NIQE tests compare
with when neither package is installed. Needs ``basicsr`` (1.4.2) and ``pyiqa``; BasicSR's
package ``__init__`` imports modules that no longer import with current torchvision, so
only its ``basicsr.metrics`` sub-package is loaded (the NIQE code itself is unchanged).

Rows per image:

* ``basicsr``: ``basicsr.metrics.niqe.niqe`` on the MATLAB ``rgb2gray`` image (rounded), as shipped
  (its ``imresize`` computes in float32);
* ``basicsr_f64``: the same with the second scale from IQA-PyTorch's MATLAB ``imresize``
  run in float64 (MATLAB computes in double);
* ``pyiqa``: ``pyiqa.create_metric('niqe')`` on the same grey image as shipped.

Usage: ``python benchmarks/oracle_niqe_reference.py [--write]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "metrics"
IMAGES = [f"{k}_{r}" for k in ("I03", "I04", "I06", "I08", "I19") for r in ("dist", "ref")]


def load_basicsr_niqe() -> types.ModuleType:
    """``basicsr.metrics.niqe`` without running ``basicsr/__init__.py``."""
    spec = importlib.util.find_spec("basicsr")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("basicsr is not installed")
    pkg = types.ModuleType("basicsr")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("basicsr", pkg)
    import basicsr.metrics.niqe as bn

    return bn


def pyiqa_resize_f64() -> object:
    """IQA-PyTorch's MATLAB imresize with its float32 cast removed (float64 in, float64 out)."""
    import pyiqa.matlab_utils.resize as R
    import torch

    def resize(img: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
        orig = R.cast_input
        R.cast_input = lambda x: (x, None)
        try:
            t = torch.from_numpy(np.asarray(img, dtype=np.float64))[None, None]
            return R.imresize(t, scale=scale, antialiasing=antialiasing)[0, 0].numpy()
        finally:
            R.cast_input = orig

    return resize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the JSON file")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import pyiqa
    import torch

    from lode_bench.io import read_image
    from lode_bench.metrics.niqe import niqe_score, read_niqe_model, to_grey255

    model_path = DATA / "niqe" / "niqe_pris_params.npz"
    model = read_niqe_model(model_path)
    z = np.load(model_path)
    bn = load_basicsr_niqe()
    import tempfile

    mat = Path(tempfile.mkdtemp()) / "niqe_live.mat"
    model.save(mat)
    metric = pyiqa.create_metric("niqe", device="cpu", pretrained_model_path=str(mat))
    out: dict[str, dict[str, float]] = {}
    for name in IMAGES:
        grey = to_grey255(read_image(DATA / "tid2013" / f"{name}.png", dtype="uint8"))
        b32 = bn.niqe(grey, z["mu_pris_param"], z["cov_pris_param"], z["gaussian_window"])
        orig = bn.imresize
        bn.imresize = pyiqa_resize_f64()
        try:
            b64 = bn.niqe(grey, z["mu_pris_param"], z["cov_pris_param"], z["gaussian_window"])
        finally:
            bn.imresize = orig
        with torch.no_grad():
            p = float(metric(torch.from_numpy(grey / 255.0)[None, None]))
        ours = niqe_score(grey, model)
        out[name] = {"basicsr": float(b32), "basicsr_f64": float(b64), "pyiqa": p}
        print(
            f"{name}: lode-bench {ours:.6f}  basicsr {b32:.6f}  basicsr(f64 resize) {b64:.6f}  "
            f"pyiqa {p:.6f}"
        )
    if args.write:
        meta = {
            "basicsr": "1.4.2",
            "pyiqa": pyiqa.__version__,
            "model": model_path.name,
            "input": "MATLAB rgb2gray of the PNG, rounded",
        }
        (DATA / "niqe" / "reference_values.json").write_text(
            json.dumps({"meta": meta, "values": out}, indent=2) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
