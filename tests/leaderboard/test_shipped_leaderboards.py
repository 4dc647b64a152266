"""The leaderboards shipped in leaderboards/: valid definitions, accepted submissions,
and the pinned dataset version equals what the built-in sample builds here."""

from __future__ import annotations

from pathlib import Path

import pytest

from lode_bench.report.leaderboard import load_leaderboard, validate_all
from lode_bench.report.site import build_site

ROOT = Path(__file__).resolve().parents[2] / "leaderboards"
BOARDS = {
    "sample": ("global", "lode-sample-global", "gopro", "PSNR"),
    "lode-local": ("local", "lode-sample-local", "lode", "PSNR_w"),
}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_shipped_definition_and_submissions(name, tmp_path):
    kind, dataset, protocol, ranking = BOARDS[name]
    spec = load_leaderboard(ROOT / name)
    assert (spec.name, spec.protocol, spec.ranking_metric) == (name, protocol, ranking)
    assert [d.name for d in spec.datasets] == [dataset]
    assert len(spec.datasets[0].image_ids) == 8
    verdicts = validate_all(spec)
    assert len(verdicts) >= 2 and all(v.accepted for v in verdicts), [
        (v.path.name, v.problems) for v in verdicts
    ]
    site = build_site(ROOT / name, tmp_path / "site", n_resamples=200, progress=False)
    assert site.ranking and (tmp_path / "site" / "index.html").is_file()


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_pinned_hash_is_what_the_builtin_sample_builds(name, tmp_path):
    from lode_bench.synth.builtin_dataset import build_builtin_dataset

    kind, dataset, _, _ = BOARDS[name]
    manifest = build_builtin_dataset(
        tmp_path / dataset, kind=kind, n_samples=8, size=(240, 320), seed=0, name=dataset
    )
    spec = load_leaderboard(ROOT / name)
    assert spec.datasets[0].manifest_hash == manifest.manifest_hash, (
        "the built-in sample no longer builds the pinned dataset version; regenerate "
        "leaderboards/ with `lode-bench demo` (see leaderboards/README.md)"
    )
    assert sorted(spec.datasets[0].image_ids) == sorted(s["id"] for s in manifest.samples)
