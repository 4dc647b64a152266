"""Executor choice and the local side of scaling out (no Ray needed): factory, map_stateful,
synthesis tasks per sequence, alignment per scene on a pool, CLI option checks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.errors import ConfigError
from lode_bench.parallel.choice import EXECUTOR_NAMES, make_executor
from lode_bench.parallel.executor import LocalExecutor, SetupError
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.planning import Job, group_jobs, plan_jobs
from lode_bench.synth.recipes import load_recipe


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_make_executor_names_and_errors() -> None:
    assert EXECUTOR_NAMES == ("serial", "thread", "process", "ray")
    for name in ("serial", "thread", "process"):
        with make_executor(name, workers=2) as ex:
            assert isinstance(ex, LocalExecutor) and ex.kind == name and not ex.hosts_models
    with pytest.raises(ConfigError, match="unknown executor 'cluster'"):
        make_executor("cluster")
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        make_executor("thread", address="127.0.0.1:6379")
    with pytest.raises(ConfigError, match="ray executor only"):
        make_executor("thread", max_actors=2)


def test_ray_missing_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'lode-bench\[ray\]'"):
        make_executor("ray")


def test_ray_executor_checks_its_numbers() -> None:
    pytest.importorskip("ray", reason="the 'ray' extra is not installed")
    from lode_bench.parallel.ray_executor import RayExecutor

    for bad in ({"num_cpus": 0}, {"max_retries": -1}, {"gpus_per_model": -1}, {"max_actors": 0}):
        with pytest.raises(ConfigError):
            RayExecutor(None, **bad)  # type: ignore[arg-type]


def _setup_counter() -> dict[str, int]:
    return {"setups": 1}


def _use_state(state: dict[str, int], x: int) -> int:
    if x < 0:
        raise ValueError("negative")
    return state["setups"] * 10 + x


def test_default_map_stateful_sets_up_once_and_reports_errors() -> None:
    calls = []

    def setup() -> dict[str, int]:
        calls.append(1)
        return {"setups": len(calls)}

    with LocalExecutor(2, "thread") as ex:
        out = dict(ex.map_stateful(setup, _use_state, [1, -1, 2]))
    assert calls == [1] and out[1] == 11 and out[2] == 12 and isinstance(out[-1], ValueError)

    def broken() -> dict[str, int]:
        raise OSError("no GPU")

    out = dict(LocalExecutor(1, "serial").map_stateful(broken, _use_state, [1, 2]))
    assert set(out) == {1, 2}
    assert all(isinstance(v, SetupError) and "OSError: no GPU" in str(v) for v in out.values())


def test_group_jobs_per_sequence_and_size() -> None:
    a, b = object(), object()
    jobs = [Job(i, f"j{i}", source=src) for i, src in enumerate([a, a, a, b, b])]  # type: ignore[arg-type]
    groups = group_jobs(jobs, 2)
    assert [[j.index for j in g] for g in groups] == [[0, 1], [2], [3, 4]]
    assert [[j.index for j in g] for g in group_jobs(jobs, 8)] == [[0, 1, 2], [3, 4]]
    with pytest.raises(ConfigError):
        group_jobs(jobs, 0)


def test_synth_on_pools_is_byte_identical_and_resumes(tmp_path: Path) -> None:
    recipe = load_recipe("gopro")
    from lode_bench.io import write_image
    from lode_bench.synth.builtin import builtin_global_source

    src = builtin_global_source(n_frames=60, size=(48, 64), seed=2)
    for seq in ("GOPR0001", "GOPR0002"):  # two sequences: two tasks at least
        for i in range(len(src)):
            write_image(tmp_path / "frames" / seq / f"{i:06d}.png", src.read(i))
    jobs = plan_jobs(recipe, tmp_path / "frames", seed=0, size=(48, 64), limit=None)
    assert len({j.source.name for j in jobs if j.source is not None}) == 2
    run_recipe(recipe, tmp_path / "serial", source=tmp_path / "frames", progress=False)
    ref = tree(tmp_path / "serial")
    with LocalExecutor(2, "thread") as ex:
        run_recipe(
            recipe,
            tmp_path / "thread",
            source=tmp_path / "frames",
            progress=False,
            executor=ex,
            samples_per_task=1,
        )
    assert tree(tmp_path / "thread") == ref
    # resume: delete one sample's blur file; a pool run rewrites exactly the same bytes
    victim = next(
        p for p in sorted((tmp_path / "thread").rglob("*.png")) if "/blur" in p.as_posix()
    )
    victim.unlink()
    with LocalExecutor(2, "process") as ex:
        run_recipe(
            recipe, tmp_path / "thread", source=tmp_path / "frames", progress=False, executor=ex
        )
    assert tree(tmp_path / "thread") == ref


def test_synth_task_failure_is_raised(tmp_path: Path) -> None:
    recipe = load_recipe("gopro")
    (tmp_path / "frames").mkdir()
    from lode_bench.io import write_image

    rng = np.random.default_rng(0)
    for i in range(20):
        write_image(
            tmp_path / "frames" / f"{i:06d}.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
        )
    (tmp_path / "frames" / "000003.png").write_bytes(b"broken")
    from lode_bench.errors import ImageReadError

    with LocalExecutor(2, "thread") as ex, pytest.raises(ImageReadError, match="000003"):
        run_recipe(
            recipe, tmp_path / "out", source=tmp_path / "frames", progress=False, executor=ex
        )


def test_cli_options(tmp_path: Path) -> None:
    from lode_bench.cli.synth import synth

    r = CliRunner().invoke(
        synth,
        [
            "builtin",
            "--out",
            str(tmp_path / "bp"),
            "--limit",
            "2",
            "--executor",
            "thread",
            "-j",
            "2",
            "--quiet",
        ],
    )
    s = CliRunner().invoke(
        synth,
        [
            "builtin",
            "--out",
            str(tmp_path / "bs"),
            "--limit",
            "2",
            "--executor",
            "serial",
            "--quiet",
        ],
    )
    assert r.exit_code == 0 and s.exit_code == 0, r.output + s.output
    assert tree(tmp_path / "bp") == tree(tmp_path / "bs")  # the built-in set, byte-identical
    r = CliRunner().invoke(
        synth,
        [
            "lode-local",
            "--out",
            str(tmp_path / "o"),
            "--limit",
            "1",
            "--ray-address",
            "127.0.0.1:1",
            "--quiet",
        ],
    )
    assert r.exit_code == 2 and "--ray-address needs --executor ray" in r.output
    r = CliRunner().invoke(
        synth,
        [
            "lode-local",
            "--out",
            str(tmp_path / "pool"),
            "--limit",
            "2",
            "--size",
            "48x64",
            "--executor",
            "thread",
            "-j",
            "2",
            "--quiet",
        ],
    )
    s = CliRunner().invoke(
        synth,
        [
            "lode-local",
            "--out",
            str(tmp_path / "serial"),
            "--limit",
            "2",
            "--size",
            "48x64",
            "--executor",
            "serial",
            "--quiet",
        ],
    )
    assert r.exit_code == 0 and s.exit_code == 0, r.output + s.output
    assert tree(tmp_path / "pool") == tree(tmp_path / "serial")


def test_align_on_a_pool_matches_serial(tmp_path: Path) -> None:
    from skimage import data

    from lode_bench.align.dataset import align_dataset
    from lode_bench.align.geometric import GeometricConfig
    from lode_bench.align.pipeline import AlignConfig
    from lode_bench.align.simulate import simulate_pair
    from lode_bench.io import write_image

    rng = np.random.default_rng(3)
    for scene, photo in (("a", data.astronaut()[::2, ::2]), ("b", data.rocket()[::2, ::2])):
        p = simulate_pair(np.ascontiguousarray(photo), (100, 140), rng)
        write_image(tmp_path / "in" / scene / "blur" / "x.png", p.blur)
        write_image(tmp_path / "in" / scene / "sharp" / "x.png", p.sharp)
    cfg = AlignConfig(geometric=GeometricConfig(iterations=40))
    ref = align_dataset(tmp_path / "in", tmp_path / "serial", cfg, progress=False, overview_count=0)
    with LocalExecutor(2, "thread") as ex:
        got = align_dataset(
            tmp_path / "in", tmp_path / "pool", cfg, progress=False, overview_count=0, executor=ex
        )
    strip = [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in ref.records]
    assert [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in got.records] == strip
    pngs = {k: v for k, v in tree(tmp_path / "serial").items() if k.endswith(".png")}
    assert len(pngs) == 4 and {k: tree(tmp_path / "pool")[k] for k in pngs} == pngs
