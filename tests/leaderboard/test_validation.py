"""Submissions: honest ones pass; tampered, mismatched, malformed and incomplete ones are
rejected with the reason."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lode_bench.cli.leaderboard import leaderboard_export, leaderboard_validate
from lode_bench.errors import ConfigError
from lode_bench.io.numbers import mean_of
from lode_bench.report.leaderboard import load_leaderboard, validate_all, validate_file
from lode_bench.report.submission import load_submission
from tests.leaderboard.lb_helpers import DATASETS, HOSTILE, MODELS, image_ids, load_json, write_spec


def _rewrite(path, fn):
    doc = load_json(path)
    fn(doc)
    path.write_text(json.dumps(doc))
    return path


def _one(board, fn, name="fast-net"):
    spec = load_leaderboard(board.root)
    return validate_file(spec, _rewrite(board.files[name], fn)).problems


def test_honest_submissions_are_accepted(board):
    verdicts = validate_all(load_leaderboard(board.root))
    assert [v.accepted for v in verdicts] == [True] * len(MODELS)
    assert {v.name for v in verdicts} == set(MODELS)


def test_exported_aggregates_are_the_row_means(board):
    sub = load_submission(board.files["slow-net"])
    for block in sub.results:
        for m in ("PSNR", "SSIM"):
            vals = [r.metrics[m] for r in block.rows]
            assert (
                block.aggregates[m] == sum(vals) / len(vals)
                or abs(block.aggregates[m] - sum(vals) / len(vals)) < 1e-12
            )
            assert block.aggregates[m] == mean_of(vals)
        assert sorted(r.image_id for r in block.rows) == image_ids(block.dataset)


def test_tampered_aggregate_is_rejected(board):
    def bump(doc):
        doc["results"][0]["aggregates"]["PSNR"] += 0.001

    (problem,) = _one(board, bump)
    assert "claimed PSNR" in problem and "does not match the mean" in problem


def test_tampered_row_is_rejected(board):
    def bump_row(doc):
        doc["results"][1]["rows"][3]["metrics"]["SSIM"] = 0.99

    (problem,) = _one(board, bump_row)
    assert "claimed SSIM" in problem and "set-b" in problem


def test_other_dataset_version_is_rejected(board):
    def rehash(doc):
        doc["results"][0]["dataset_hash"] = "c" * 64

    (problem,) = _one(board, rehash)
    assert "manifest hash cccccccccccc" in problem and "another version" in problem


def test_other_protocol_version_is_rejected(board):
    def bump(doc):
        for b in doc["results"]:
            b["protocol_version"] = "2"

    problems = _one(board, bump)
    assert len(problems) == 2 and all("basicsr v2 differs" in p for p in problems)


def test_missing_extra_duplicate_and_failed_images_are_rejected(board):
    def drop(doc):
        rows = doc["results"][0]["rows"]
        doc["results"][0]["rows"] = rows[:-2]
        doc["results"][0]["aggregates"] = {
            m: mean_of([r["metrics"][m] for r in rows[:-2]]) for m in ("PSNR", "SSIM")
        }

    (problem,) = _one(board, drop)
    assert "missing 2 of 12 images" in problem and "'set-a-img11'" in problem

    def extra(doc):
        doc["results"][1]["rows"].append(dict(doc["results"][1]["rows"][0], image_id="intruder"))

    problems = _one(board, extra, name="slow-net")
    assert any("images not in the dataset: 'intruder'" in p for p in problems)

    def dup(doc):
        doc["results"][1]["rows"].append(doc["results"][1]["rows"][0])

    problems = _one(board, dup, name="identity")
    assert any("duplicate image rows" in p for p in problems)

    def fail(doc):
        doc["results"][1]["rows"][0].update(status="error", error="ECC did not converge")

    problems = _one(board, fail, name=HOSTILE)
    assert any("1 image(s) failed" in p and "ECC did not converge" in p for p in problems)


def test_missing_dataset_and_wrong_board_are_rejected(board):
    def only_a(doc):
        doc["results"] = doc["results"][:1]
        doc["leaderboard"] = "another-board"

    problems = _one(board, only_a)
    assert any("leaderboard 'another-board'" in p for p in problems)
    assert any("no results for dataset 'set-b'" in p for p in problems)


def test_missing_metric_is_rejected(board):
    def no_ssim(doc):
        for r in doc["results"][0]["rows"]:
            r["metrics"].pop("SSIM")

    problems = _one(board, no_ssim)
    assert any("metric 'SSIM' missing or NaN" in p for p in problems)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "malformed JSON"),
        (
            '{"format": "lode-bench-submission", "format_version": 1, "leaderboard": "x"}',
            "missing key 'method'",
        ),
        ('{"format": "something-else"}', "format: expected 'lode-bench-submission'"),
        (
            '{"format": "lode-bench-submission", "format_version": 1, "leaderboard": "test-board", '
            '"method": {"name": "m"}, "provenance": {}, "results": [{"dataset": "set-a", '
            '"dataset_hash": "h", "protocol": "basicsr", "protocol_version": "1", "aggregates": {}, '
            '"rows": [{"image_id": "x", "status": "ok", "metrics": {"PSNR": NaN}}]}]}',
            "non-standard JSON constant NaN",
        ),
        (
            '{"format": "lode-bench-submission", "format_version": 1, "leaderboard": "test-board", '
            '"method": {"name": "m"}, "provenance": {}, "results": [{"dataset": "set-a", '
            '"dataset_hash": "h", "protocol": "basicsr", "protocol_version": "1", "aggregates": {}, '
            '"rows": [{"image_id": "x", "status": "ok", "metrics": {"PSNR": "31.2"}}]}]}',
            "results[0].rows[0].metrics.PSNR: expected a number",
        ),
        (
            '{"format": "lode-bench-submission", "format_version": 1, "leaderboard": "test-board", '
            '"method": {"name": "  "}, "provenance": {}, "results": []}',
            "method.name: must not be empty",
        ),
        ("[1, 2]", "top level: expected a JSON object"),
    ],
)
def test_malformed_files_are_rejected_with_the_key(board, text, needle):
    bad = board.root / "submissions" / "zz-bad.json"
    bad.write_text(text)
    v = validate_file(load_leaderboard(board.root), bad)
    assert not v.accepted
    assert v.problems[0].startswith("malformed:") and needle in v.problems[0], v.problems


def test_duplicate_method_name_is_rejected_as_ambiguous(board):
    copy = board.root / "submissions" / "99-copy.json"
    copy.write_text(board.files["slow-net"].read_text().replace('"slow-net"', '" Slow-Net "', 1))
    verdicts = {v.path.name: v for v in validate_all(load_leaderboard(board.root))}
    first = verdicts[board.files["slow-net"].name]
    # neither claimant wins by file-name order: both rejected, each naming the other file
    assert not first.accepted and "99-copy.json" in first.problems[0]
    assert not verdicts["99-copy.json"].accepted
    assert board.files["slow-net"].name in verdicts["99-copy.json"].problems[0]
    assert "ambiguous method name" in first.problems[0]
    assert sum(v.accepted for v in verdicts.values()) == len(MODELS) - 1


def test_spec_errors_name_the_key(tmp_path):
    write_spec(tmp_path / "a", ranking={"metric": "LPIPS"})
    with pytest.raises(ConfigError, match="ranking.metric 'LPIPS' is not one of"):
        load_leaderboard(tmp_path / "a")
    write_spec(tmp_path / "b", protocol={"name": "basicsr"})
    with pytest.raises(ConfigError, match="missing key 'version'"):
        load_leaderboard(tmp_path / "b")
    write_spec(tmp_path / "c", colour="blue")
    with pytest.raises(
        ConfigError, match=r"leaderboard.yaml: unknown leaderboard key\(s\) 'colour'"
    ):
        load_leaderboard(tmp_path / "c")
    write_spec(
        tmp_path / "d",
        datasets=[{"name": "x", "manifest_hash": "h", "image_list": "../../etc/passwd"}],
    )
    with pytest.raises(Exception, match="leaves the dataset root"):
        load_leaderboard(tmp_path / "d")
    with pytest.raises(ConfigError, match="leaderboard definition not found"):
        load_leaderboard(tmp_path / "nowhere")


def test_image_list_file(tmp_path):
    (tmp_path / "lb").mkdir()
    (tmp_path / "lb" / "ids.txt").write_text("\n".join(image_ids("set-a")) + "\n")
    write_spec(
        tmp_path / "lb",
        datasets=[
            {"name": "set-a", "manifest_hash": DATASETS["set-a"][0], "image_list": "ids.txt"}
        ],
    )
    assert load_leaderboard(tmp_path / "lb").datasets[0].image_ids == tuple(image_ids("set-a"))


def test_cli_validate_and_export(board, tmp_path):
    r = CliRunner().invoke(leaderboard_validate, [str(board.root)])
    assert r.exit_code == 0, r.output
    assert r.output.count("accepted") == len(MODELS)
    _rewrite(board.files["fast-net"], lambda d: d["results"][0]["aggregates"].update(PSNR=40.0))
    r = CliRunner().invoke(leaderboard_validate, [str(board.root)])
    assert r.exit_code == 1 and "rejected 01.json" in r.output and "claimed PSNR" in r.output
    out = tmp_path / "exported.json"
    r = CliRunner().invoke(
        leaderboard_export,
        [
            "--store",
            str(board.store),
            "--model",
            "fast-net",
            "--leaderboard",
            str(board.root),
            "--out",
            str(out),
            "--name",
            "Fast Net",
            "--paper",
            "https://x.org",
        ],
    )
    assert r.exit_code == 0, r.output
    sub = load_submission(out)
    assert sub.name == "Fast Net" and sub.method["paper"] == "https://x.org"
    assert sub.provenance["runs"][0]["device"] == "cpu"
    r = CliRunner().invoke(leaderboard_validate, [str(board.root), str(out)])
    assert r.exit_code == 0, r.output


def test_cli_export_names_pinned_and_present_hashes_on_mismatch(board, tmp_path):
    """Results on another dataset version: the error names both manifest hashes."""
    pinned = "c" * 64
    write_spec(
        board.root,
        datasets=[{"name": "set-a", "manifest_hash": pinned, "image_ids": image_ids("set-a")}],
    )
    r = CliRunner().invoke(
        leaderboard_export,
        [
            "--store",
            str(board.store),
            "--model",
            "fast-net",
            "--leaderboard",
            str(board.root),
            "--out",
            str(tmp_path / "x.json"),
        ],
    )
    assert r.exit_code != 0
    msg = " ".join(r.output.split())
    assert pinned in msg and DATASETS["set-a"][0] in msg and "mismatch" in msg, r.output
    assert not (tmp_path / "x.json").exists()
