"""Ray executor on a real local cluster: same bytes and rows as the local executor, worker kills survived.

One cluster serves the whole module (``ray_cluster`` in conftest.py). References are
always the in-process/local-pool results of the same call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

ray = pytest.importorskip(
    "ray", reason="the 'ray' extra is not installed (pip install 'lode-bench[ray]')"
)

from lode_bench.bench.runner import run_benchmark  # noqa: E402
from lode_bench.bench.store import ResultsStore  # noqa: E402
from lode_bench.errors import ConfigError  # noqa: E402
from lode_bench.parallel.executor import LocalExecutor  # noqa: E402
from lode_bench.parallel.ray_executor import RayExecutor, SetupError, WorkerLostError  # noqa: E402
from lode_bench.synth.builtin_dataset import build_builtin_dataset  # noqa: E402
from lode_bench.synth.pipeline import run_recipe  # noqa: E402
from lode_bench.synth.recipes import load_recipe  # noqa: E402

# The cluster's workers cannot import this test file: ship its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

SMALL_NAF = {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def row_facts(store: Path) -> list[tuple]:
    """Store rows without what legitimately differs between runs (run id, timing)."""
    with ResultsStore(store) as st:
        rows = st.rows()
    return [
        (
            r.model,
            r.dataset,
            r.dataset_hash,
            r.protocol,
            r.protocol_version,
            r.image_id,
            r.status,
            r.error,
            sorted(r.metrics.items()),
            r.mask_coverage,
        )
        for r in rows
    ]


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def _load_offset(k: int):  # setup for map_stateful: the "model" is an offset
    return lambda: k


def _broken_setup() -> int:
    raise OSError("no such checkpoint on this node")


def _add_state(state: int, x: int) -> int:
    if x == 3:
        raise ValueError("model failed on three")
    return state + x


def announce_and_wait(marker: Path, wait_s: float = 120.0) -> None:
    """Let the first call anywhere in the cluster that gets here be killed while it runs.

    That call publishes its process id at ``marker`` (``os.link`` of a finished file: atomic,
    and only one call can win) and blocks until ``ray_cluster.kill_when_signalled`` kills
    it; every later call (the resubmitted one included) finds the marker and goes on.
    """
    import os
    import time

    tmp = marker.with_name(f"{marker.name}.{os.getpid()}.{time.monotonic_ns()}")
    tmp.write_text(str(os.getpid()))
    try:
        os.link(tmp, marker)
    except FileExistsError:
        return
    finally:
        tmp.unlink()
    time.sleep(wait_s)  # killed here; if not, the test fails on its kill count


@dataclass(frozen=True)
class Announcing:
    """``fn`` whose first call in the cluster waits to be killed (see :func:`announce_and_wait`)."""

    fn: Callable
    marker: Path

    def __call__(self, *args):
        announce_and_wait(self.marker)
        return self.fn(*args)


class KillableRayExecutor(RayExecutor):
    """The Ray executor with every function it ships wrapped in :class:`Announcing`."""

    def __init__(self, address: str, marker: Path, **kw) -> None:
        super().__init__(address, **kw)
        self.marker = marker

    def map_unordered(self, fn, items, **kw):
        return super().map_unordered(Announcing(fn, self.marker), items, **kw)

    def map_stateful(self, setup, fn, items, **kw):
        return super().map_stateful(setup, Announcing(fn, self.marker), items, **kw)


def killer_for(cluster, marker: Path, title: str):
    """Forget earlier kills, then kill the worker that announces itself at ``marker``."""
    cluster.killed.clear()
    cluster.refused.clear()
    return cluster.kill_when_signalled(marker, title=title)


def assert_killed_once(cluster, marker: Path, killer) -> None:
    killer.join(timeout=10)
    assert not cluster.refused, (
        f"the announced process is not a worker of this cluster: {cluster.refused}"
    )
    assert marker.exists(), "no call announced itself"
    assert cluster.killed == [int(marker.read_text())], "the announced worker was not killed"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Built-in global samples (with kernels) and local samples (no kernel: non-blind methods fail there)."""
    root = tmp_path_factory.mktemp("ds") / "builtin"
    build_builtin_dataset(root, kind="both", n_samples=4, size=(96, 128), seed=5)
    return root


def _node_of(x: int) -> str:
    import time

    time.sleep(0.3)
    return ray.get_runtime_context().get_node_id()


def test_work_spreads_over_both_nodes(ray_cluster) -> None:
    with RayExecutor(ray_cluster.address) as ex:
        nodes = dict(ex.map_unordered(_node_of, range(4)))
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert ex.workers == 2
    assert len(alive) == 2 and set(nodes.values()) == alive


def test_functions_errors_come_back_not_retried(ray_cluster) -> None:
    with RayExecutor(ray_cluster.address) as ex:
        out = dict(ex.map_unordered(_fail_on_three, range(6)))
        stateful = dict(ex.map_stateful(_load_offset(100), _add_state, range(5), num_cpus=1))
        broken = dict(ex.map_stateful(_broken_setup, _add_state, range(3), num_cpus=1))
        assert ex.workers == 2 and ex.describe()["executor"] == "ray"
        assert (
            ex.retried == 0
        )  # an exception of the function (or of the setup) is a result, never a retry
    assert set(broken) == {0, 1, 2}
    assert all(
        isinstance(v, SetupError) and "no such checkpoint" in str(v) for v in broken.values()
    )
    assert isinstance(out[3], ValueError) and "three is bad" in str(out[3])
    assert {k: v for k, v in out.items() if k != 3} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
    assert isinstance(stateful[3], ValueError) and "model failed" in str(stateful[3])
    assert {k: v for k, v in stateful.items() if k != 3} == {0: 100, 1: 101, 2: 102, 4: 104}


def test_synth_byte_identical_to_local(ray_cluster, tmp_path) -> None:
    recipe = load_recipe("lode-local")
    run_recipe(recipe, tmp_path / "serial", limit=6, size=(64, 80), progress=False)
    with LocalExecutor(2, "process") as ex:
        run_recipe(
            recipe,
            tmp_path / "pool",
            limit=6,
            size=(64, 80),
            progress=False,
            executor=ex,
            samples_per_task=2,
        )
    with RayExecutor(ray_cluster.address) as ex:
        run_recipe(
            recipe,
            tmp_path / "ray",
            limit=6,
            size=(64, 80),
            progress=False,
            executor=ex,
            samples_per_task=2,
        )
    ref = tree(tmp_path / "serial")
    assert len([k for k in ref if k.endswith(".png")]) == 6 * 3  # blur, sharp, mask
    assert tree(tmp_path / "pool") == ref
    assert tree(tmp_path / "ray") == ref


def test_builtin_dataset_byte_identical_on_ray(ray_cluster, tmp_path) -> None:
    from lode_bench.synth.builtin_dataset import build_builtin_dataset

    build_builtin_dataset(tmp_path / "serial", n_samples=2, size=(64, 80))
    with RayExecutor(ray_cluster.address) as ex:
        build_builtin_dataset(tmp_path / "ray", n_samples=2, size=(64, 80), executor=ex)
    ref = tree(tmp_path / "serial")
    assert any(k.endswith(".npy") for k in ref)  # global samples carry their kernel
    assert tree(tmp_path / "ray") == ref


def test_synth_survives_a_killed_worker(ray_cluster, tmp_path) -> None:
    recipe = load_recipe("lode-local")
    run_recipe(recipe, tmp_path / "serial", limit=8, size=(120, 160), progress=False)
    marker = tmp_path / "in-call"
    killer = killer_for(ray_cluster, marker, "ray::_apply")
    with KillableRayExecutor(ray_cluster.address, marker) as ex:
        run_recipe(
            recipe,
            tmp_path / "ray",
            limit=8,
            size=(120, 160),
            progress=False,
            executor=ex,
            samples_per_task=1,
        )
        retried = ex.retried
    assert_killed_once(ray_cluster, marker, killer)
    assert retried == 1  # one task was running in the killed process
    assert tree(tmp_path / "ray") == tree(tmp_path / "serial")


def _bench(dataset: Path, store: Path, outputs: Path, executor, model: str, **kw):
    return run_benchmark(
        model,
        str(dataset),
        "gopro",
        store,
        executor=executor,
        progress=False,
        save_outputs=outputs,
        **kw,
    )


def test_benchmark_rows_identical_to_local(ray_cluster, dataset, tmp_path) -> None:
    runs = [
        ("identity", {}),
        ("wiener", {}),
        ("nafnet", {"random_weights": True, "model_options": SMALL_NAF, "device": "cpu"}),
    ]
    local, ray_sums = [], []
    with LocalExecutor(2, "thread") as ex:
        local = [
            _bench(dataset, tmp_path / "local.sqlite", tmp_path / "out-local" / m, ex, m, **kw)
            for m, kw in runs
        ]
    with RayExecutor(ray_cluster.address) as ex:
        ray_sums = [
            _bench(dataset, tmp_path / "ray.sqlite", tmp_path / "out-ray" / m, ex, m, **kw)
            for m, kw in runs
        ]
    facts = row_facts(tmp_path / "local.sqlite")
    assert len(facts) == 3 * 8
    assert row_facts(tmp_path / "ray.sqlite") == facts
    assert tree(tmp_path / "out-ray") == tree(tmp_path / "out-local")
    for a, b in zip(local, ray_sums, strict=True):
        assert (a.n_ok, a.n_error, a.means) == (b.n_ok, b.n_error, b.means)
        assert b.n_retried == 0
    wiener = ray_sums[
        1
    ]  # the non-blind method fails on the 4 local samples (no kernel): rows, not retries
    assert (wiener.n_ok, wiener.n_error) == (4, 4)
    assert all("kernel" in msg for _, msg in wiener.errors)
    with ResultsStore(tmp_path / "ray.sqlite") as st:
        runs_frame = st.runs_frame()
    devices = set(runs_frame.loc[runs_frame["model"].str.startswith("nafnet"), "device"])
    assert devices == {"ray:cpu"}


def test_benchmark_survives_a_killed_model_actor(ray_cluster, dataset, tmp_path) -> None:
    kw = {"random_weights": True, "model_options": {**SMALL_NAF, "width": 16}, "device": "cpu"}
    with LocalExecutor(2, "thread") as ex:
        _bench(dataset, tmp_path / "local.sqlite", tmp_path / "out-local", ex, "nafnet", **kw)
    marker = tmp_path / "in-call"
    killer = killer_for(ray_cluster, marker, "ray::_StatefulWorker.call")
    with KillableRayExecutor(ray_cluster.address, marker) as ex:
        summ = _bench(dataset, tmp_path / "ray.sqlite", tmp_path / "out-ray", ex, "nafnet", **kw)
    assert_killed_once(ray_cluster, marker, killer)
    # the killed actor held two images (the one running, the one queued behind it): each resubmitted once
    assert (summ.n_retried, summ.n_ok, summ.n_error) == (2, 8, 0), summ.errors
    assert row_facts(tmp_path / "ray.sqlite") == row_facts(tmp_path / "local.sqlite")
    assert tree(tmp_path / "out-ray") == tree(tmp_path / "out-local")


def test_killed_model_actor_costs_each_of_its_items_one_attempt(ray_cluster, tmp_path) -> None:
    """While Ray restarts a killed actor, calls sent to it fail at once: they must not use up retries."""
    marker = tmp_path / "in-call"
    killer = killer_for(ray_cluster, marker, "ray::_StatefulWorker.call")
    with RayExecutor(ray_cluster.address) as ex:
        out = dict(
            ex.map_stateful(_load_offset(100), Announcing(_add_state, marker), range(8), num_cpus=1)
        )
        retried = ex.retried
    assert_killed_once(ray_cluster, marker, killer)
    assert retried == 2  # the call that was running and the one queued behind it on that actor
    assert isinstance(out.pop(3), ValueError)  # the function's own error: a result, not a loss
    assert out == {x: 100 + x for x in range(8) if x != 3}


def test_model_actor_that_cannot_come_back_fails_its_items_clearly(ray_cluster, tmp_path) -> None:
    marker = tmp_path / "in-call"
    killer = killer_for(ray_cluster, marker, "ray::_StatefulWorker.call")
    with RayExecutor(
        ray_cluster.address, max_retries=0, max_actors=1
    ) as ex:  # no retry, no restart
        out = dict(
            ex.map_stateful(_load_offset(100), Announcing(_add_state, marker), range(6), num_cpus=1)
        )
        assert ex.retried == 0
    assert_killed_once(ray_cluster, marker, killer)
    assert set(out) == set(range(6)) and all(isinstance(v, WorkerLostError) for v in out.values())
    assert all("lost 1 times" in str(out[x]) for x in (0, 1))  # the two calls the actor held
    assert all("no model actor left" in str(out[x]) for x in range(2, 6)), [
        str(out[x]) for x in range(2, 6)
    ]


def test_model_that_cannot_load_on_the_workers_stores_nothing(
    ray_cluster, dataset, tmp_path
) -> None:
    kw = {"random_weights": True, "model_options": SMALL_NAF}
    with RayExecutor(ray_cluster.address) as ex:
        with pytest.raises(ConfigError, match="no GPU"):
            _bench(dataset, tmp_path / "s.sqlite", None, ex, "nafnet", device="cuda", **kw)
        # the driver copy loads on the CPU; the workers fail to open the (absent) MPS device
        with pytest.raises(SetupError, match="MPS") as err:
            _bench(dataset, tmp_path / "s.sqlite", None, ex, "nafnet", device="mps", **kw)
        assert ex.retried == 0
    assert "8 image(s) not run (0 stored)" in str(err.value)
    with ResultsStore(tmp_path / "s.sqlite") as st:
        assert st.rows() == [] and set(st.runs_frame()["status"]) == {"failed"}


def test_items_lost_too_often_become_errors(ray_cluster) -> None:
    import os

    def die(x: int) -> int:
        if x == 1:
            os._exit(1)  # the worker process disappears every time it runs this item
        return x

    with RayExecutor(ray_cluster.address, max_retries=1) as ex:
        out = dict(ex.map_unordered(die, range(3)))
        assert ex.retried == 1
    assert out[0] == 0 and out[2] == 2
    assert isinstance(out[1], WorkerLostError) and "lost 2 times" in str(out[1])


def test_cli_synth_and_run_on_ray(ray_cluster, tmp_path) -> None:
    from lode_bench.cli.run import run_command
    from lode_bench.cli.synth import synth

    res = CliRunner().invoke(
        synth,
        [
            "lode-local",
            "--out",
            str(tmp_path / "ds"),
            "--limit",
            "3",
            "--size",
            "48x64",
            "--quiet",
            "--executor",
            "ray",
            "--ray-address",
            ray_cluster.address,
        ],
    )
    assert res.exit_code == 0, res.output
    ref = CliRunner().invoke(
        synth,
        [
            "lode-local",
            "--out",
            str(tmp_path / "ref"),
            "--limit",
            "3",
            "--size",
            "48x64",
            "--quiet",
        ],
    )
    assert ref.exit_code == 0 and tree(tmp_path / "ds") == tree(tmp_path / "ref")
    res = CliRunner().invoke(
        run_command,
        [
            "-m",
            "identity",
            "-d",
            str(tmp_path / "ds"),
            "-p",
            "gopro",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--executor",
            "ray",
            "--ray-address",
            ray_cluster.address,
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "retried" in res.output.splitlines()[0]
    with ResultsStore(tmp_path / "s.sqlite") as st:
        assert len([r for r in st.rows() if r.status == "ok"]) == 3


def _capture_folder(root: Path) -> Path:
    """Two scenes of captured-like pairs simulated from scikit-image photographs, one unreadable file."""
    from skimage import data

    from lode_bench.align.simulate import simulate_pair
    from lode_bench.io import write_image

    rng = np.random.default_rng(11)
    for scene, photo in (("s1", data.astronaut()[::2, ::2]), ("s2", data.coffee()[::2, ::2])):
        for i in range(2):
            p = simulate_pair(np.ascontiguousarray(photo), (120, 160), rng)
            write_image(root / scene / "blur" / f"{i:03d}.png", p.blur)
            write_image(root / scene / "sharp" / f"{i:03d}.png", p.sharp)
    (root / "s2" / "sharp" / "001.png").write_bytes(b"not a png")
    return root


def _without_seconds(records) -> list[dict]:
    return [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in records]


def test_align_same_images_and_records_as_local(ray_cluster, tmp_path) -> None:
    from lode_bench.align.dataset import align_dataset
    from lode_bench.align.geometric import GeometricConfig
    from lode_bench.align.pipeline import AlignConfig
    from lode_bench.datasets.manifest import load_manifest

    src = _capture_folder(tmp_path / "in")
    cfg = AlignConfig(geometric=GeometricConfig(iterations=50))
    ref = align_dataset(src, tmp_path / "serial", cfg, progress=False, overview_count=0)
    with RayExecutor(ray_cluster.address) as ex:
        got = align_dataset(
            src, tmp_path / "ray", cfg, progress=False, overview_count=0, executor=ex
        )
    assert [r.id for r in got.records] == ["s1/000", "s1/001", "s2/000", "s2/001"]
    assert _without_seconds(got.records) == _without_seconds(ref.records)
    assert got.records[3].status == "failed" and got.records[3].flags == ["read_error"]
    images = {k: v for k, v in tree(tmp_path / "serial").items() if k.endswith(".png")}
    assert len(images) == 3 * 2 and {k: tree(tmp_path / "ray")[k] for k in images} == images
    man_ref, man_ray = load_manifest(tmp_path / "serial"), load_manifest(tmp_path / "ray")
    assert man_ray.manifest_hash == man_ref.manifest_hash  # ids, files and their sha256


def test_client_without_the_token_is_refused_clearly(ray_cluster, dataset, tmp_path) -> None:
    """No silent fallback to a private local cluster: the command fails and says what is missing."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(
        RAY_AUTH_MODE="disabled",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_NUM_REDIS_GET_RETRIES="2",
    )  # Ray retries 20 times (1 s each) before giving up
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lode_bench.cli",
            "run",
            "-m",
            "identity",
            "-d",
            str(dataset),
            "-p",
            "gopro",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--executor",
            "ray",
            "--ray-address",
            ray_cluster.address,
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "cannot connect to the Ray cluster" in proc.stderr and "RAY_AUTH_TOKEN" in proc.stderr
