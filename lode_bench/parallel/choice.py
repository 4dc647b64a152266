"""Choose an executor by name (the ``--executor`` option of ``synth``, ``align`` and ``run``).

Names: ``serial`` (in this process, one item at a time), ``thread`` and ``process``
(a local pool, no extra needed) and ``ray`` (a Ray cluster; ``pip install
'lode-bench[ray]'``).
"""

from __future__ import annotations

from typing import Any

from lode_bench.errors import ConfigError
from lode_bench.parallel.executor import Executor, LocalExecutor

EXECUTOR_NAMES: tuple[str, ...] = ("serial", "thread", "process", "ray")


def make_executor(
    name: str = "thread",
    *,
    workers: int | None = None,
    address: str | None = None,
    preload: tuple[str, ...] = (),
    **ray_options: Any,
) -> Executor:
    """Build the executor called ``name``.

    Args:
        name: one of :data:`EXECUTOR_NAMES`.
        workers: pool size of the local executors (default: CPU cores).
        address: Ray cluster address ``HOST:PORT`` (``ray`` only; ``None`` starts a
            private local Ray instance).
        preload: modules a ``process`` pool imports once before forking its workers.
        **ray_options: further :class:`~lode_bench.parallel.ray_executor.RayExecutor` options
            (``num_cpus``, ``max_retries``, ``gpus_per_model``, ``max_actors``).

    Raises:
        ConfigError: unknown name, options that do not fit the executor, or Ray missing.
    """
    if name not in EXECUTOR_NAMES:
        raise ConfigError(f"unknown executor {name!r} (choose from {', '.join(EXECUTOR_NAMES)})")
    if name == "ray":
        from lode_bench.parallel.ray_executor import RayExecutor

        return RayExecutor(address, **ray_options)
    if address is not None:
        raise ConfigError(f"--ray-address needs --executor ray (got --executor {name})")
    if ray_options:
        raise ConfigError(f"options {sorted(ray_options)} apply to the ray executor only")
    return LocalExecutor(workers, kind=name, preload=preload)  # type: ignore[arg-type]
