"""The declared model contract, the execution strategies it selects, and ``RunSettings``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from lode_bench.bench.runner import AmpOnCpuError, run_benchmark
from lode_bench.bench.settings import RunSettings
from lode_bench.bench.store import ResultsStore
from lode_bench.bench.strategies import (
    DriverStrategy,
    HostedStrategy,
    WorkerStrategy,
    choose_strategy,
    load_device,
)
from lode_bench.cli.run import run_command
from lode_bench.errors import LodeBenchError
from lode_bench.io import read_image
from lode_bench.models import MODELS, ModelCard, register_model
from lode_bench.models.base import Deblurrer, FunctionDeblurrer
from lode_bench.models.torch_model import TorchDeblurrer
from lode_bench.parallel.executor import LocalExecutor

SMALL_NAF = {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}
LOADS: dict[str, int] = {}


class _Hosting(LocalExecutor):
    hosts_models = True


def _card(name: str, kind: str = "numpy", **kw) -> ModelCard:
    return ModelCard(name=name, kind=kind, description="test", needs_checkpoint=False, **kw)  # type: ignore[arg-type]


def test_strategy_is_chosen_from_the_declared_contract():
    fn = FunctionDeblurrer(_card("c1", factory="x:y"), lambda b, s: b)
    net = TorchDeblurrer(_card("c2", "torch", factory="x:y"), torch.nn.Identity(), device="cpu")

    class Folderish(Deblurrer):
        runs_in_driver = True

        def deblur(self, blurry, sample):
            return blurry

    plain, hosting = LocalExecutor(1, "serial"), _Hosting(1, "serial")
    assert isinstance(choose_strategy(fn, plain), WorkerStrategy)
    assert isinstance(choose_strategy(fn, hosting), WorkerStrategy)
    assert isinstance(choose_strategy(net, plain), DriverStrategy)
    assert isinstance(choose_strategy(net, hosting), HostedStrategy)
    assert isinstance(
        choose_strategy(Folderish(), hosting), DriverStrategy
    )  # not hostable: stays here
    assert load_device(hosting, "cuda") == "cpu" and load_device(plain, "cuda") == "cuda"


def _counting_numpy(card, ckpt, **o):
    LOADS[card.name] = LOADS.get(card.name, 0) + 1
    return FunctionDeblurrer(card, lambda b, s: b[::-1].copy())


class _CountingNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        LOADS["test-count-torch"] = LOADS.get("test-count-torch", 0) + 1
        self.conv = torch.nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize("kind", ["thread", "serial"])
def test_the_model_is_loaded_once_per_run(tiny, tmp_path, kind):
    name = f"test-count-numpy-{kind}"
    if name not in MODELS:
        register_model(_card(name, factory=_counting_numpy))
    if "test-count-torch" not in MODELS:
        register_model(_card("test-count-torch", "torch", factory=_CountingNet))
    LOADS.clear()
    with LocalExecutor(2, kind) as ex:  # type: ignore[arg-type]
        a = run_benchmark(
            name, str(tiny), "deepdeblur", tmp_path / "r.sqlite", progress=False, executor=ex
        )
        b = run_benchmark(
            "test-count-torch",
            str(tiny),
            "deepdeblur",
            tmp_path / "r.sqlite",
            progress=False,
            executor=ex,
            device="cpu",
            random_weights=True,
        )
    assert (a.n_ok, b.n_ok) == (7, 7)
    assert LOADS == {name: 1, "test-count-torch": 1}


class _Declared(Deblurrer):
    """A plugin-style model stating its needs: no input read, its own timing, memory figure."""

    runs_in_driver = True
    needs_input = False
    last_runtime_s = None

    def __init__(self, card, folder) -> None:
        self.card = card
        self.folder = folder
        self.shapes: list[tuple[int, ...]] = []

    def deblur(self, blurry, sample):
        self.shapes.append(blurry.shape)
        self.last_runtime_s = 0.125
        return read_image(sample.sharp)  # "perfect" outputs read by the model itself

    def peak_memory_bytes(self):
        return 4242


SEEN: list[_Declared] = []


def _declared_factory(card, ckpt, **o):
    m = _Declared(card, ckpt)
    SEEN.append(m)
    return m


def test_runner_uses_only_the_declared_contract(tiny, tmp_path):
    if "test-declared" not in MODELS:
        register_model(_card("test-declared", "adapter", factory=_declared_factory))
    SEEN.clear()
    store = tmp_path / "r.sqlite"
    with LocalExecutor(1, "thread") as ex:
        s = run_benchmark(
            "test-declared", str(tiny), "deepdeblur", store, progress=False, executor=ex
        )
    assert s.n_ok == 7 and s.means["PSNR"] == float("inf")
    assert len(SEEN) == 1 and set(SEEN[0].shapes) == {(0, 0, 3)}  # needs_input=False: no image read
    with ResultsStore(store) as st:
        assert {r.runtime_s for r in st.rows()} == {0.125}  # the model's own timing is stored
        extra = json.loads(st.runs_frame().iloc[-1].extra)
    assert extra["peak_memory_bytes"] == 4242 and extra["strategy"] == "driver"


def test_run_settings_are_typed_and_checked():
    s = RunSettings()
    assert s.replace(limit=3).limit == 3 and s.limit is None  # frozen: replace makes a copy
    assert s.replace(flops_size=None).flops is False
    with pytest.raises(LodeBenchError, match="unknown options"):
        s.replace(colour="red")
    with pytest.raises(LodeBenchError, match="tile must be >= 16"):
        s.replace(tile=8)
    with pytest.raises(LodeBenchError, match="warmup must be an integer"):
        RunSettings(warmup=1.5)  # type: ignore[arg-type]


def test_command_line_options_override_the_suite_settings(tiny, tmp_path, monkeypatch):
    from lode_bench.bench.suite import load_suite

    monkeypatch.setenv("TINY_DS", str(tiny))
    f = tmp_path / "s.yaml"
    f.write_text(
        "models: [identity]\ndatasets: ['${TINY_DS}']\nprotocols: [deepdeblur]\n"
        "settings: {limit: 3, warmup: 0}\n"
    )
    assert load_suite(f).settings == RunSettings(limit=3, warmup=0)
    res = CliRunner().invoke(
        run_command,
        [
            "--suite",
            str(f),
            "--store",
            str(tmp_path / "r.sqlite"),
            "--limit",
            "1",
            "--executor",
            "serial",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    with ResultsStore(tmp_path / "r.sqlite") as st:
        assert len(st.rows()) == 1
        assert (
            json.loads(st.runs_frame().iloc[-1].extra)["warmup"] == 0
        )  # the suite's, not overridden


def test_amp_on_the_cpu_is_refused_before_any_row(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    with pytest.raises(AmpOnCpuError, match="bfloat16"):
        run_benchmark(
            "nafnet",
            str(tiny),
            "deepdeblur",
            store,
            random_weights=True,
            model_options=SMALL_NAF,
            device="cpu",
            amp=True,
            progress=False,
            executor=LocalExecutor(1, "serial"),
        )
    with ResultsStore(store) as st:
        assert st.rows() == [] and len(st.runs_frame()) == 0
    res = CliRunner().invoke(
        run_command,
        [
            "-m",
            "nafnet",
            "--random-weights",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            str(store),
            "--device",
            "cpu",
            "--amp",
            "-q",
        ],
    )
    assert res.exit_code == 2 and "--amp on the CPU" in res.output


def test_stage_lines_from_the_start_and_no_flops(tiny, tmp_path):
    res = CliRunner().invoke(
        run_command,
        [
            "-m",
            "nafnet",
            "--random-weights",
            "--model-opt",
            "width=8",
            "--model-opt",
            "enc_blk_nums=[1, 1]",
            "--model-opt",
            "dec_blk_nums=[1, 1]",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            str(tmp_path / "a.sqlite"),
            "--device",
            "cpu",
            "--limit",
            "2",
            "--executor",
            "serial",
        ],
    )
    assert res.exit_code == 0, res.output
    err = res.stderr
    order = [
        err.index(t)
        for t in ("loading the model", "counting FLOPs", "warm-up", ": 2 image(s) to run")
    ]
    assert order == sorted(order), err
    res = CliRunner().invoke(
        run_command,
        [
            "-m",
            "nafnet",
            "--random-weights",
            "--model-opt",
            "width=8",
            "--model-opt",
            "enc_blk_nums=[1, 1]",
            "--model-opt",
            "dec_blk_nums=[1, 1]",
            "-d",
            str(tiny),
            "-p",
            "deepdeblur",
            "--store",
            str(tmp_path / "b.sqlite"),
            "--device",
            "cpu",
            "--limit",
            "2",
            "--executor",
            "serial",
            "--no-flops",
        ],
    )
    assert res.exit_code == 0 and "counting FLOPs" not in res.stderr, res.output
    with ResultsStore(tmp_path / "b.sqlite") as st:
        run = st.runs_frame().iloc[-1]
    assert run.flops is None or np.isnan(run.flops)
    assert run.params > 0
