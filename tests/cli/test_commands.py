"""Every `lode-bench` command: `--help`, the exit-code rule and the shared option vocabulary.

The rule (lode_bench.cli.base): 0 all good; 1 some items (images, pairs, files,
submissions) failed; 2 a usage or input error, printed as one line `error: ...`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.cli import COMMANDS, main
from lode_bench.cli import options as opt
from lode_bench.io import write_image


def _walk(path: tuple[str, ...], cmd: click.Command) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, cmd)]
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None, (path, name)
            out += _walk((*path, name), sub)
    return out


def _all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(main)
    out = []
    for name in COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None, f"command {name!r} does not load"
        out += _walk((name,), cmd)
    return out


ALL = _all_commands()
PATHS = [p for p, _ in ALL]
LEAVES = [(p, c) for p, c in ALL if not isinstance(c, click.Group)]


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _one_error_line(res) -> str:  # type: ignore[no-untyped-def]
    """The output is exactly one line, ``error: ...``, without traceback; returns it."""
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


# ------------------------------------------------------------------ --help, bad options
@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_exits_0(path: tuple[str, ...]) -> None:
    res = _run(*path, "--help")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Usage: ") and " ".join(path) in res.output.splitlines()[0]


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_unknown_option_is_one_line_and_exit_2(path: tuple[str, ...]) -> None:
    res = _run(*path, "--no-such-option")
    assert res.exit_code == 2
    line = _one_error_line(res)
    assert "--no-such-option" in line and f"{' '.join(path)} --help" in line


def test_unknown_command_is_one_line_and_exit_2() -> None:
    res = _run("nosuch")
    assert res.exit_code == 2 and "nosuch" in _one_error_line(res)
    res = _run("dataset", "nosuch")
    assert res.exit_code == 2 and "nosuch" in _one_error_line(res)


def test_a_command_run_on_its_own_follows_the_rule_too(tmp_path: Path) -> None:
    """Tests and scripts invoke command objects directly: same one line and status 2."""
    from lode_bench.cli.align import align_command
    from lode_bench.cli.dataset import verify

    res = CliRunner().invoke(align_command, [str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "nope" in _one_error_line(res)
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(verify, [str(tmp_path / "empty")])  # a LodeBenchError inside
    assert res.exit_code == 2 and "manifest.json" in _one_error_line(res)


# ------------------------------------------------------------------ missing input files
#: Each command with an input file or folder, with MISSING standing for one that does not exist.
MISSING_INPUT: dict[str, list[str]] = {
    "score": ["score", "--pred", "MISSING", "--gt", "MISSING", "-p", "gopro"],
    "synth": ["synth", "MISSING.yaml", "--out", "OUT"],
    "synth --source": ["synth", "gopro", "--source", "MISSING", "--out", "OUT"],
    "capture extract": ["capture", "extract", "MISSING.mp4", "--out", "OUT"],
    "capture calibrate-crf": ["capture", "calibrate-crf", "MISSING.png", "--out", "OUT.txt"],
    "capture objects": [
        "capture",
        "objects",
        "--format",
        "coco",
        "--annotations",
        "MISSING.json",
        "--images",
        "OUT",
        "--out",
        "OUT",
        "--licence",
        "x",
    ],
    "align": ["align", "MISSING", "--out", "OUT"],
    "run": ["run", "-m", "identity", "-d", "MISSING", "-p", "gopro", "--store", "OUT.sqlite"],
    "run --suite": ["run", "--suite", "MISSING.yaml", "--store", "OUT.sqlite"],
    "report": ["report", "--store", "MISSING.sqlite", "--out", "OUT"],
    "leaderboard build": ["leaderboard", "build", "MISSING", "--out", "OUT"],
    "leaderboard validate": ["leaderboard", "validate", "MISSING"],
    "leaderboard export": [
        "leaderboard",
        "export",
        "--store",
        "MISSING.sqlite",
        "--model",
        "m",
        "--leaderboard",
        "b",
        "--out",
        "OUT.json",
    ],
    "dataset verify": ["dataset", "verify", "MISSING"],
    "dataset stats": ["dataset", "stats", "MISSING"],
    "dataset split": ["dataset", "split", "MISSING"],
    "dataset preview": ["dataset", "preview", "MISSING"],
    "analyze": ["analyze", "MISSING", "--out", "OUT"],
    "nriqa fit-niqe": ["nriqa", "fit-niqe", "MISSING", "--out", "OUT.npz"],
    "nriqa score": ["nriqa", "score", "MISSING", "-m", "niqe"],
}
#: Commands that read no input file.
NO_INPUT = {
    ("ls",),
    ("ls", "datasets"),
    ("ls", "metrics"),
    ("ls", "models"),
    ("ls", "protocols"),
    ("demo",),
    ("nriqa", "check"),
}


def test_every_command_with_an_input_has_a_missing_input_case() -> None:
    covered = {tuple(k.split(" --")[0].split()) for k in MISSING_INPUT}
    leaves = {p for p, _ in LEAVES}
    assert leaves - NO_INPUT - covered <= {p for p in leaves if p[0] == "ls"}, sorted(
        leaves - NO_INPUT - covered
    )
    assert covered <= leaves


@pytest.mark.parametrize("case", sorted(MISSING_INPUT))
def test_missing_input_is_one_line_naming_it_and_exit_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    missing = tmp_path / "no-such-input"
    args = [
        a.replace("MISSING", str(missing)).replace("OUT", str(tmp_path / "out"))
        for a in MISSING_INPUT[case]
    ]
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert "no-such-input" in _one_error_line(res)


# ------------------------------------------------------------------ some items failed: 1
def test_score_with_a_broken_prediction_exits_1(tmp_path: Path) -> None:
    from lode_bench.examples import example_dirs

    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for name in ("gopro", "realblur"):
        p, g = example_dirs(name, "restormer")
        shutil.copytree(g, gt, dirs_exist_ok=True)
        shutil.copytree(p, pred, dirs_exist_ok=True)
    victim = sorted(pred.iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:100])
    res = _run("score", "--pred", pred, "--gt", gt, "-p", "gopro", "-q")
    assert res.exit_code == 1, res.output
    assert "1 scored, 1 failed" in res.output and victim.stem in res.output


def _pairs(root: Path) -> Path:
    """One clean pair (sharp = blur, a textured image) and one with an unreadable sharp image."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:128]
    img = np.stack([np.sin(xx / 5.0) * 60 + np.cos(yy / 7.0) * 60 + 128] * 3, axis=-1)
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    for i in (0, 1):
        write_image(root / "blur" / f"p{i}.png", img)
    write_image(root / "sharp" / "p0.png", img)
    (root / "sharp" / "p1.png").write_bytes(b"not a png")
    return root


def test_align_exits_1_on_failed_pairs_and_on_flagged_ones_only_with_strict(tmp_path: Path) -> None:
    """A failed pair (unreadable image) gives 1; a pair flagged by QC is a written result
    (0), unless --strict counts it as failed."""
    from lode_bench.datasets.manifest import load_manifest

    src = _pairs(tmp_path / "in")  # p0: identical images, flagged by QC (nothing to align)
    res = _run("align", src, "--out", tmp_path / "out", "--executor", "serial", "-q")
    assert res.exit_code == 1, res.output
    assert "2 pairs: 0 ok, 1 flagged, 1 failed" in res.output and "FAILED p1" in res.output
    assert [s["id"] for s in load_manifest(tmp_path / "out").samples] == ["p0"]
    (src / "sharp" / "p1.png").unlink()
    (src / "blur" / "p1.png").unlink()
    res = _run("align", src, "--out", tmp_path / "out2", "--executor", "serial", "-q")
    assert res.exit_code == 0 and "1 pairs: 0 ok, 1 flagged, 0 failed" in res.output, res.output
    res = _run("align", src, "--out", tmp_path / "out3", "--executor", "serial", "-q", "--strict")
    assert res.exit_code == 1 and "1 flagged" in res.output, res.output


def test_run_with_a_failed_image_exits_1(tmp_path: Path) -> None:
    src = _pairs(tmp_path / "ds")  # folder: dataset; p1's sharp image cannot be read
    res = _run(
        "run",
        "-m",
        "identity",
        "-d",
        f"folder:{src}",
        "-p",
        "gopro",
        "--store",
        tmp_path / "s.sqlite",
        "-q",
    )
    assert res.exit_code == 1, res.output


def test_dataset_verify_with_a_changed_file_exits_1(tmp_path: Path) -> None:
    from lode_bench.datasets.manifest import DatasetWriter

    rng = np.random.default_rng(0)
    w = DatasetWriter(tmp_path / "ds", "t")
    for i in range(2):
        im = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        w.write_sample(f"s{i}", {"blur": im, "sharp": im})
    w.finalize()
    assert _run("dataset", "verify", tmp_path / "ds", "-q").exit_code == 0
    (tmp_path / "ds" / "test" / "blur" / "s1.png").write_bytes(b"x")
    res = _run("dataset", "verify", tmp_path / "ds", "-q")
    assert res.exit_code == 1 and "1 changed" in res.output


# ------------------------------------------------------------------ one option vocabulary
def _params(cmd: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in cmd.params if p.name}


@pytest.mark.parametrize("path,cmd", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_shared_options_have_one_spelling_choice_and_default(
    path: tuple[str, ...], cmd: click.Command, request: pytest.FixtureRequest
) -> None:
    every = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    assert "--jobs" not in every
    ps = _params(cmd)
    for p in cmd.params:
        if "-j" in p.opts or "--workers" in p.opts:
            assert sorted(p.opts) == ["--workers", "-j"] and p.name == "workers", p.opts
        if "-q" in p.opts or "--quiet" in p.opts:
            assert sorted(p.opts) == ["--quiet", "-q"] and p.name == "quiet", p.opts
        if "--executor" in p.opts:
            assert p.name == "executor_name" and isinstance(p.type, click.Choice)
            assert (
                tuple(p.type.choices) == opt.EXECUTOR_CHOICES and p.default == opt.DEFAULT_EXECUTOR
            )
            assert "ray_address" in ps
        if "--lpips" in p.opts:
            assert isinstance(p.type, click.Choice) and tuple(p.type.choices) == opt.LPIPS_CHOICES
        if "--split" in p.opts:
            assert p.default in (opt.DEFAULT_SPLIT, None)
        if "--size" in p.opts:
            assert p.metavar == "HxW"


def test_option_choices_agree_with_the_library() -> None:
    from lode_bench.align.transforms import MOTION_MODELS
    from lode_bench.cli.align import MOTION_CHOICES
    from lode_bench.parallel import EXECUTOR_NAMES

    assert opt.EXECUTOR_CHOICES == EXECUTOR_NAMES
    assert MOTION_CHOICES == MOTION_MODELS


@pytest.mark.parametrize(
    "text,expected", [("240x320", (240, 320)), ("48X64", (48, 64)), (None, None)]
)
def test_size_is_h_x_w(text: str | None, expected: tuple[int, int] | None) -> None:
    assert opt.parse_size(text) == expected


@pytest.mark.parametrize("text", ["240 320", "240", "240x320x3", "ax3", "8x320"])
def test_size_refuses_other_forms(text: str) -> None:
    with pytest.raises(click.BadParameter, match="size must be"):
        opt.parse_size(text)


def test_demo_takes_the_size_as_h_x_w(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import lode_bench.demo
    from lode_bench.cli.demo import demo_command

    seen = {}

    class Result:
        summaries: list = []

    def fake_run_demo(out, **kw):  # type: ignore[no-untyped-def]
        seen.update(kw)
        return Result()

    monkeypatch.setattr(lode_bench.demo, "run_demo", fake_run_demo)
    res = CliRunner().invoke(
        demo_command, ["--out", str(tmp_path), "--size", "96x128", "-j", "1", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert seen["size"] == (96, 128) and seen["workers"] == 1 and seen["progress"] is False
    res = CliRunner().invoke(demo_command, ["--out", str(tmp_path), "--size", "96", "128"])
    assert res.exit_code == 2  # the old two-number form is refused
    res = CliRunner().invoke(demo_command, ["--out", str(tmp_path), "--size", "16x16"])
    assert res.exit_code == 2 and "at least 32x32" in _one_error_line(res)


# ------------------------------------------------------------------ ls, synth names and splits
def test_bare_ls_lists_every_kind_including_ones_added_later() -> None:
    from lode_bench.cli.ls import ls

    res = _run("ls")
    assert res.exit_code == 0, res.output
    for kind in ("protocols", "metrics", "models", "datasets"):
        assert f"  {kind} " in res.output
    assert "Named scoring protocols" in res.output  # with each kind's one-line help

    @ls.command(name="zz-extra")
    def extra() -> None:
        """An extra kind registered by another module."""

    try:
        res = _run("ls")
        assert res.exit_code == 0
        assert [ln.split() for ln in res.output.splitlines() if "zz-extra" in ln] == [
            ["zz-extra", "An", "extra", "kind", "registered", "by", "another", "module."]
        ]
    finally:
        ls.commands.pop("zz-extra")


def test_misspelled_recipe_gets_did_you_mean_from_the_known_list(tmp_path: Path) -> None:
    from lode_bench.synth.recipes import list_recipes

    res = _run("synth", "lode-locl", "--out", tmp_path / "o")
    assert res.exit_code == 2
    line = _one_error_line(res)
    assert "did you mean 'lode-local'" in line
    hint = line.split("did you mean ")[1].split("?")[0]
    assert {h.strip(" '") for h in hint.split(",")} <= set(list_recipes())


def test_synth_writes_the_recipe_split_unless_told(tmp_path: Path) -> None:
    from lode_bench.datasets.manifest import load_manifest
    from lode_bench.synth.recipes import load_recipe

    common = ["--limit", "1", "--size", "48x64", "--executor", "serial", "-q"]
    res = _run("synth", "lode-local", "--out", tmp_path / "a", *common)
    assert res.exit_code == 0, res.output
    a = load_manifest(tmp_path / "a")
    assert {s["split"] for s in a.samples} == {load_recipe("lode-local").split} == {"train"}
    res = _run("synth", "lode-local", "--out", tmp_path / "b", "--split", "test", *common)
    assert res.exit_code == 0, res.output
    b = load_manifest(tmp_path / "b")
    assert {s["split"] for s in b.samples} == {"test"}
    assert all(f.startswith("test/") for s in b.samples for f in s["files"].values())
    assert b.meta["recipe_config"]["split"] == "test"
    assert a.meta["recipe_hash"] != b.meta["recipe_hash"]
    # the same recipe with another split is another dataset: refused in the same folder
    res = _run("synth", "lode-local", "--out", tmp_path / "a", "--split", "test", *common)
    assert res.exit_code == 2 and "--overwrite" in _one_error_line(res)
    res = _run("synth", "builtin", "--out", tmp_path / "c", "--split", "train", *common)
    assert res.exit_code == 2 and "--split" in _one_error_line(res)
