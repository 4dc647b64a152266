"""Local pool vs. Ray on the same cores: a synthesis run, benchmark runs, and Ray's start-up cost.

Run: ``python benchmarks/bench_ray.py [--cpus 2] [--samples 16] [--size 240x320] [--repeats 2]``
(needs the ``ray`` extra: ``pip install 'lode-bench[ray]'``).

Measured in one process, same inputs, fresh output folders each time:

* start-up: ``ray.init`` of a private local Ray instance with ``--cpus`` CPUs plus the
  first task's round trip (a worker process is spawned), then the per-task overhead of
  200 empty tasks;
* synthesis: the ``lode-local`` recipe on the built-in scene, ``--samples`` samples:
  in-process (serial), local process pool, Ray (one task per batch of 2 scenes); the
  datasets are checked to be byte-identical;
* benchmark runs on a built-in dataset (``--samples`` global + ``--samples`` local):
  ``wiener`` (CPU model, runs inside the workers) and a small random-weight NAFNet
  (torch: in the driver for the local pool, one model actor per CPU slot on Ray); the
  stored rows are checked to be identical.

Times are the best of ``--repeats`` rounds (each round: local, then a fresh Ray instance;
fresh folders and stores). Ratios are Ray wall time / local wall time (> 1: Ray is slower). On one small machine
Ray can only add overhead; it pays off when the work spreads over several machines.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

# A private local Ray instance uses token authentication; give it a fresh token through the
# environment so nothing is written to the home folder. Must happen before ``import ray``.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from lode_bench.bench.runner import run_benchmark  # noqa: E402
from lode_bench.bench.store import ResultsStore  # noqa: E402
from lode_bench.parallel.executor import LocalExecutor  # noqa: E402
from lode_bench.parallel.ray_executor import RayExecutor  # noqa: E402
from lode_bench.synth.builtin_dataset import build_builtin_dataset  # noqa: E402
from lode_bench.synth.pipeline import run_recipe  # noqa: E402
from lode_bench.synth.recipes import load_recipe  # noqa: E402

SMALL_NAF = {"width": 16, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}


def _noop(x: int) -> int:
    return x


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _rows(store: Path) -> list[tuple]:
    with ResultsStore(store) as st:
        return [(r.model, r.image_id, r.status, sorted(r.metrics.items())) for r in st.rows()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--size", default="240x320")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    times: dict[str, float] = {}

    def timed(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        fn()
        times[name] = min(times.get(name, float("inf")), time.perf_counter() - t)

    try:
        recipe = load_recipe("lode-local")
        synth = {"limit": args.samples, "size": (h, w), "progress": False}
        ds = work / "dataset"
        build_builtin_dataset(ds, kind="both", n_samples=args.samples, size=(h, w), seed=1)
        runs = {
            "wiener": {},
            "nafnet": {"random_weights": True, "model_options": SMALL_NAF, "device": "cpu"},
        }
        for r in range(args.repeats):
            rd = work / f"round{r}"
            timed("synth serial", lambda rd=rd: run_recipe(recipe, rd / "s-serial", **synth))
            with LocalExecutor(args.cpus, "process") as pool:
                timed(
                    "synth local pool",
                    lambda rd=rd, pool=pool: run_recipe(
                        recipe, rd / "s-pool", executor=pool, samples_per_task=2, **synth
                    ),
                )
            with LocalExecutor(args.cpus, "thread") as pool:
                for m, kw in runs.items():
                    timed(
                        f"run {m} local pool",
                        lambda m=m, kw=kw, rd=rd, pool=pool: run_benchmark(
                            m,
                            str(ds),
                            "gopro",
                            rd / "local.sqlite",
                            executor=pool,
                            progress=False,
                            **kw,
                        ),
                    )

            ray_ex = RayExecutor(
                None, init_kwargs={"num_cpus": args.cpus}
            )  # private session folder
            try:
                timed(
                    "ray start-up (init + first task)",
                    lambda ex=ray_ex: list(ex.map_unordered(_noop, [0])),
                )
                timed(
                    "ray 200 empty tasks",
                    lambda ex=ray_ex: list(ex.map_unordered(_noop, range(200))),
                )
                timed(
                    "synth ray",
                    lambda rd=rd, ex=ray_ex: run_recipe(
                        recipe, rd / "s-ray", executor=ex, samples_per_task=2, **synth
                    ),
                )
                for m, kw in runs.items():
                    timed(
                        f"run {m} ray",
                        lambda m=m, kw=kw, rd=rd, ex=ray_ex: run_benchmark(
                            m,
                            str(ds),
                            "gopro",
                            rd / "ray.sqlite",
                            executor=ex,
                            progress=False,
                            **kw,
                        ),
                    )
            finally:
                ray_ex.close()

        rds = [work / f"round{r}" for r in range(args.repeats)]
        same_synth = all(
            _files(rd / "s-ray") == _files(rd / "s-serial") == _files(rd / "s-pool") for rd in rds
        )
        same_rows = all(_rows(rd / "ray.sqlite") == _rows(rd / "local.sqlite") for rd in rds)
        print(
            f"cpus={args.cpus}  samples={args.samples} (runs: {2 * args.samples} images)  size={h}x{w}  "
            f"best of {args.repeats}  (cpu cores here: {os.cpu_count()})"
        )
        for name, t in times.items():
            print(f"{name:<36} {t:8.2f} s")
        print(f"{'ray per empty task':<36} {1000 * times['ray 200 empty tasks'] / 200:8.2f} ms")
        print("ratios (ray / local pool):")
        print(
            f"  synth                  {times['synth ray'] / times['synth local pool']:.2f}"
            f"   (ray / serial: {times['synth ray'] / times['synth serial']:.2f})"
        )
        for m in runs:
            print(f"  run {m:<18} {times[f'run {m} ray'] / times[f'run {m} local pool']:.2f}")
        print(f"datasets byte-identical: {same_synth}; store rows identical: {same_rows}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
