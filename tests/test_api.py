"""The Python face: ``lode_bench`` exports, lazy imports, and the thin wrappers of ``lode_bench.api``."""

from __future__ import annotations

import doctest
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lode_bench
from lode_bench.api import FolderScores, score_folders, synthesise
from lode_bench.errors import ImageReadError, LodeBenchError, UnknownNameError
from lode_bench.examples import example_dirs
from lode_bench.io.images import write_image
from lode_bench.metrics.protocols import get_protocol
from lode_bench.metrics.scoring import pair_folders, score_pairs, summarise

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "cv2", "pandas", "matplotlib", "scipy", "skimage", "PIL", "lpips")


def _loaded_after(code: str) -> dict[str, bool]:
    """Which heavy modules are in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"import sys\n{code}\n"
        f"import json; print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_lode_bench_loads_no_heavy_library():
    loaded = _loaded_after("import lode_bench\nassert 'score_folders' in dir(lode_bench)")
    assert not any(loaded.values()), loaded


def test_cli_help_loads_no_heavy_library():
    code = (
        "from lode_bench.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0"
    )
    loaded = _loaded_after(code)
    assert not any(loaded.values()), loaded


def test_align_motion_choices_match_the_library():
    from lode_bench.align.transforms import MOTION_MODELS
    from lode_bench.cli.align import MOTION_CHOICES

    assert MOTION_CHOICES == MOTION_MODELS


def test_the_probe_sees_a_heavy_import():
    # the two tests above could not pass by accident: a lazy name that needs cv2 shows up
    assert _loaded_after("import lode_bench\nlode_bench.read_image")["cv2"]


def test_every_export_resolves_to_the_object_of_its_module():
    for name, target in lode_bench._EXPORTS.items():
        module, _, attr = target.partition(":")
        obj = getattr(lode_bench, name)
        assert obj is getattr(__import__(module, fromlist=[attr]), attr), name
    assert lode_bench.LodeBenchError is LodeBenchError
    assert set(lode_bench.__all__) == {"LodeBenchError", "__version__", *lode_bench._EXPORTS}


def test_star_import_gives_every_public_name():
    ns: dict[str, object] = {}
    exec("from lode_bench import *", ns)  # noqa: S102 - the star import itself is under test
    assert {*lode_bench._EXPORTS, "LodeBenchError"} <= set(ns)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'score_folder'"):
        _ = lode_bench.score_folder  # type: ignore[attr-defined]
    assert not hasattr(lode_bench, "synthesize")  # one spelling: British


@pytest.mark.parametrize("name", sorted(n for n in lode_bench.__all__ if n != "__version__"))
def test_every_export_has_a_runnable_example(name):
    obj = getattr(lode_bench, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name)
    runnable = [ex for t in tests for ex in t.examples if not ex.options.get(doctest.SKIP)]
    assert runnable, f"lode_bench.{name} has no docstring example that runs"


def test_score_folders_matches_the_scoring_layer():
    pred, gt = example_dirs("gopro", "restormer")
    proto = get_protocol("gopro")
    direct = list(score_pairs(pair_folders(pred, gt).pairs, proto, progress=False))
    res = score_folders(pred, gt, "gopro")
    assert isinstance(res, FolderScores) and res.protocol is proto
    assert [s.values for s in res.scores] == [s.values for s in direct]
    assert res.summary == summarise(direct, proto)
    assert res.means == res.summary["mean"] and res.n_failed == 0 and res.errors == {}


def test_score_folders_reports_missing_predictions_and_masks(tmp_path):
    _, gt = example_dirs("gopro", "restormer")
    (tmp_path / "gt").mkdir()
    shutil.copy(next(gt.iterdir()), tmp_path / "gt" / "a.png")
    shutil.copy(next(gt.iterdir()), tmp_path / "gt" / "b.png")
    (tmp_path / "pred").mkdir()
    shutil.copy(next(gt.iterdir()), tmp_path / "pred" / "a.png")
    (tmp_path / "mask").mkdir()
    write_image(tmp_path / "mask" / "a.png", np.full((50, 125), 255, np.uint8))
    res = score_folders(
        tmp_path / "pred", tmp_path / "gt", "lode", mask_dir=tmp_path / "mask", jobs=1
    )
    assert res.n_failed == 1 and set(res.errors) == {"b"} and "no prediction" in res.errors["b"]
    assert res.pairing.missing_mask == ["b"] and res.pairing.missing_pred == ["b"]
    assert math.isinf(res.means["PSNR"])  # a is scored against itself


def test_score_folders_bad_input_is_a_lode_bench_error(tmp_path):
    pred, gt = example_dirs("gopro", "restormer")
    with pytest.raises(ImageReadError, match="folder not found"):
        score_folders(tmp_path / "absent", gt)
    with pytest.raises(UnknownNameError):
        score_folders(pred, gt, "gopr")


def test_synthesise_equals_run_recipe(tmp_path):
    from lode_bench.synth.pipeline import run_recipe
    from lode_bench.synth.recipes import load_recipe

    a = synthesise("lode-local", tmp_path / "a", limit=1, size=(48, 64), progress=False)
    b = run_recipe(
        load_recipe("lode-local"), tmp_path / "b", limit=1, size=(48, 64), progress=False
    )
    assert [s["sha256"] for s in a.samples] == [s["sha256"] for s in b.samples]
    c = synthesise(
        load_recipe("lode-local"), tmp_path / "a", limit=1, size=(48, 64), progress=False
    )
    assert c.manifest_hash == a.manifest_hash  # a Recipe object works too; the re-run resumes
    with pytest.raises(UnknownNameError, match="unknown synthesis recipe"):
        synthesise("no-such-recipe", tmp_path / "c")


def test_readme_python_example_runs(tmp_path, monkeypatch):
    import re

    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), {})  # noqa: S102
    assert (tmp_path / "report" / "index.html").is_file()
