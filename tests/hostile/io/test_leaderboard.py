"""Hostile leaderboard submissions through ``lode-bench leaderboard build``: impossible
values and ambiguous names are rejected with the reason, and one hostile file never stops
the board from being built from the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lode_bench.io.numbers import mean_of  # noqa: E402
from lode_bench.report.submission import encode_number  # noqa: E402
from tests.hostile.io.hostile_cli import run_cli
from tests.leaderboard.lb_helpers import MODELS, Board, load_json, make_board  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def base_board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    return make_board(tmp_path_factory.mktemp("lb"))


@pytest.fixture
def board(base_board: Board, tmp_path: Path) -> Board:
    import shutil

    root = tmp_path / "board"
    shutil.copytree(base_board.root, root)
    return Board(
        root,
        base_board.store,
        {m: root / "submissions" / p.name for m, p in base_board.files.items()},
    )


def _honest_edit(path: Path, metric: str, value: float, rows: int | None = None) -> None:
    """Set ``metric`` of the first ``rows`` images of every block to ``value`` and make the
    claimed aggregates agree, as a consistent (but fabricated) file would."""
    doc = load_json(path)
    for block in doc["results"]:
        for r in block["rows"][:rows]:
            r["metrics"][metric] = encode_number(value)
        block["aggregates"][metric] = encode_number(
            mean_of([float(r["metrics"][metric]) for r in block["rows"]])
        )
    path.write_text(json.dumps(doc))


def _build(board: Board, out: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    res = run_cli("leaderboard", "build", str(board.root), "--out", str(out), timeout=240)
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert res.code == 0, res.stderr[-3000:]
    ranking = json.loads((out / "leaderboard.json").read_text())
    verdicts = {v["file"]: v for v in json.loads((out / "validation.json").read_text())}
    return res, ranking, verdicts


def _methods(ranking: dict[str, Any]) -> set[str]:
    return {e["method"] for e in ranking["ranking"]}


@pytest.mark.parametrize(
    ("metric", "value", "needle"),
    [
        ("PSNR", 1e300, "above the largest possible finite PSNR"),
        ("SSIM", 7.5, "outside the declared range [-1, 1]"),
        ("PSNR", -3.0, "outside the declared range [0, inf]"),
        ("SSIM", float("inf"), "outside the declared range"),
    ],
)
def test_values_outside_the_declared_range_are_rejected(
    board: Board, tmp_path: Path, metric: str, value: float, needle: str
) -> None:
    target = board.files["identity"]
    _honest_edit(target, metric, value, rows=1)
    res, ranking, verdicts = _build(board, tmp_path / "site")
    v = verdicts[target.name]
    assert not v["accepted"] and any(needle in p and metric in p for p in v["problems"]), v
    assert f"rejected {target.name}" in res.stderr
    assert _methods(ranking) == set(MODELS) - {"identity"}  # the rest is built and ranked


def test_fsum_overflow_rejects_that_submission_and_builds_the_rest(
    board: Board, tmp_path: Path
) -> None:
    big = board.files["slow-net"]
    doc = load_json(big)
    for block in doc["results"]:
        for r in block["rows"]:
            r["metrics"]["PSNR"] = 1.7e308
            r["metrics"]["X"] = 1.7e308  # an extra column: its claimed mean is checked too
        block["aggregates"]["PSNR"] = 1.7e308
        block["aggregates"]["X"] = 1.7e308
    big.write_text(json.dumps(doc))
    res, ranking, verdicts = _build(board, tmp_path / "site")
    assert not verdicts[big.name]["accepted"]
    assert any("PSNR" in p for p in verdicts[big.name]["problems"])
    assert _methods(ranking) == set(MODELS) - {"slow-net"}


def test_deeply_nested_json_rejects_that_file_and_builds_the_rest(
    board: Board, tmp_path: Path
) -> None:
    deep = board.root / "submissions" / "50-deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    res, ranking, verdicts = _build(board, tmp_path / "site")
    assert not verdicts[deep.name]["accepted"]
    assert "nested too deeply" in verdicts[deep.name]["problems"][0]
    assert _methods(ranking) == set(MODELS)


def test_two_submissions_claiming_one_name_are_both_refused(board: Board, tmp_path: Path) -> None:
    orig = board.files["fast-net"]
    claim = board.root / "submissions" / "00-claim.json"  # sorts first: must not win by order
    doc = load_json(board.files["slow-net"])
    doc["method"]["name"] = "FAST-NET "
    claim.write_text(json.dumps(doc))
    res, ranking, verdicts = _build(board, tmp_path / "site")
    for mine, other in ((orig, claim), (claim, orig)):
        v = verdicts[mine.name]
        assert not v["accepted"] and "ambiguous method name" in v["problems"][0]
        assert other.name in v["problems"][0]
    assert {m.lower().strip() for m in _methods(ranking)} == {m.lower() for m in MODELS} - {
        "fast-net"
    }


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("runtime_s", -1.0, "runtime_s must be"),
        ("mask_coverage", 7.0, "mask_coverage must lie"),
    ],
)
def test_impossible_runtime_or_coverage_is_rejected(
    board: Board, tmp_path: Path, field: str, value: float, needle: str
) -> None:
    target = board.files["identity"]
    doc = load_json(target)
    doc["results"][0]["rows"][0][field] = value
    target.write_text(json.dumps(doc))
    res, ranking, verdicts = _build(board, tmp_path / "site")
    assert not verdicts[target.name]["accepted"]
    assert any(needle in p for p in verdicts[target.name]["problems"])
    assert _methods(ranking) == set(MODELS) - {"identity"}
