"""``lode-bench run`` / ``ls`` commands and suite files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore
from lode_bench.bench.suite import load_suite
from lode_bench.cli.ls import ls
from lode_bench.cli.run import run_command
from lode_bench.errors import ConfigError

SUITES = Path(__file__).resolve().parents[2] / "configs" / "suites"


def test_run_command_prints_summary_and_stores_rows(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    res = CliRunner().invoke(
        run_command,
        [
            "-m",
            "identity",
            "-m",
            "unsharp",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            str(store),
            "--executor",
            "serial",
            "-q",
            "--save-outputs",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].split()[:4] == ["model", "dataset", "protocol", "images"] and "PSNR" in lines[0]
    ident = next(line for line in lines if line.startswith("identity"))
    assert " 7 " in ident
    with ResultsStore(store) as st:
        assert len(st.rows()) == 14
    assert [
        p.parent.name.startswith(_slug(tiny))
        for p in (tmp_path / "o" / "identity").glob("*/crop.png")
    ] == [True]
    again = CliRunner().invoke(
        run_command,
        [
            "-m",
            "identity",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            str(store),
            "--executor",
            "serial",
            "-q",
        ],
    )
    row = next(line for line in again.output.splitlines() if line.startswith("identity")).split()
    assert row[3:7] == ["7", "0", "0", "7"]  # images, ok, errors, resumed


def _slug(p: Path) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in str(p)).strip("._")


def test_run_command_model_options_and_errors(tiny, tmp_path):
    store = str(tmp_path / "r.sqlite")
    ok = CliRunner().invoke(
        run_command,
        [
            "-m",
            "mimo-unet",
            "-m",
            "identity",
            "--random-weights",
            "--model-opt",
            "num_res=1",
            "--model-opt",
            "mimo-unet:base_channel=8",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            store,
            "--executor",
            "thread",
            "-j",
            "1",
            "-q",
            "--device",
            "cpu",
            "--limit",
            "2",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "mimo-unet@random0[base_channel=8,num_res=1]" in ok.output
    assert any(
        line.split()[0] == "identity" for line in ok.output.splitlines()
    )  # options: torch models only
    bad_opt = CliRunner().invoke(
        run_command,
        [
            "-m",
            "identity",
            "--model-opt",
            "oops",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            store,
        ],
    )
    assert bad_opt.exit_code == 2 and "KEY=VALUE" in bad_opt.output
    missing = CliRunner().invoke(run_command, ["-m", "identity", "--store", store])
    assert missing.exit_code == 2 and "--dataset" in missing.output
    bad = CliRunner().invoke(
        run_command,
        ["-m", "identity", "-d", f"gopro:{tmp_path}/nope", "-p", "gopro", "--store", store],
    )
    assert bad.exit_code == 2 and "not found" in bad.output  # an input error: 2, one line
    typo = CliRunner().invoke(
        run_command, ["-m", "idenity", "-d", str(tiny), "-p", "deepdeblur", "--store", store]
    )
    assert typo.exit_code == 2 and "did you mean 'identity'" in typo.output


def test_run_command_with_suite_file(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_DS", str(tiny))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: t\nmodels: [identity, {name: unsharp}]\ndatasets: ['${TINY_DS}']\n"
        "protocols: [deepdeblur]\nsettings: {limit: 3}\n"
    )
    res = CliRunner().invoke(
        run_command,
        [
            "--suite",
            str(suite),
            "--store",
            str(tmp_path / "r.sqlite"),
            "--executor",
            "serial",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        sum(1 for line in res.output.splitlines() if line.startswith(("identity", "unsharp"))) == 2
    )
    with ResultsStore(tmp_path / "r.sqlite") as st:
        assert len(st.rows()) == 6


def test_ls_command():
    res = CliRunner().invoke(ls, ["models"])
    assert res.exit_code == 0 and "restormer" in res.output and "Academic" in res.output
    res = CliRunner().invoke(ls, ["datasets"])
    assert res.exit_code == 0 and "realblur-j" in res.output


def test_shipped_suites_load(monkeypatch):
    for var in ("LODE_DATA", "LODE_WEIGHTS", "LODE_SYNTH"):
        monkeypatch.setenv(var, f"/data/{var.lower()}")
    files = sorted(SUITES.glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        suite = load_suite(f)
        assert suite.runs, f
        for run in suite.runs:
            assert run.model.card is not None  # every model name is registered
    gopro = load_suite(SUITES / "gopro.yaml")
    assert {r.model.name for r in gopro.runs} >= {"identity", "nafnet", "restormer"}
    assert all(
        r.dataset == "gopro:/data/lode_data/GOPRO_Large" and r.protocol == "gopro"
        for r in gopro.runs
    )
    local = load_suite(SUITES / "local-blur.yaml")
    assert {(r.dataset.split(":")[0], r.protocol) for r in local.runs} == {
        ("lode", "lode"),
        ("reloblur", "reloblur"),
    }


@pytest.mark.parametrize(
    "text,match",
    [
        ("models: [identity]\n", "'datasets' must be a non-empty list"),
        ("models: [identity]\ndatasets: [x]\n", "no protocols"),
        ("models: [{checkpoint: a}]\ndatasets: [x]\nprotocols: [gopro]\n", "need 'name'"),
        (
            "models: [identity]\ndatasets: ['gopro:${NOT_SET_ANYWHERE}/x']\nprotocols: [gopro]\n",
            "not set",
        ),
        (
            "models: [identity]\ndatasets: [x]\nprotocols: [gopro]\nsettings: {speed: 11}\n",
            "settings",
        ),
        (
            "models: [identity]\ndatasets: [x]\nprotocols: [gopro]\nextra: 1\n",
            r"bad.yaml: unknown suite key\(s\) 'extra'",
        ),
        (": : :\n", "invalid YAML"),
    ],
)
def test_bad_suites_name_the_problem(tmp_path, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_suite(f)


def test_run_suite_api_applies_settings(tiny, tmp_path, monkeypatch):
    from lode_bench.bench.suite import run_suite

    monkeypatch.setenv("TINY_DS", str(tiny))
    f = tmp_path / "s.yaml"
    f.write_text(
        "models: [identity]\ndatasets: ['${TINY_DS}']\nprotocols: [deepdeblur, basicsr]\n"
        f"settings: {{limit: 2, save_outputs: '{tmp_path / 'o'}'}}\n"
    )
    seen = []
    out = run_suite(load_suite(f), tmp_path / "r.sqlite", progress=False, on_summary=seen.append)
    assert [s.protocol for s in out] == ["deepdeblur@2", "basicsr@2"] and seen == out
    assert all(s.n_total == 2 for s in out)
    assert len(list((tmp_path / "o" / "identity").rglob("*.png"))) == 2
