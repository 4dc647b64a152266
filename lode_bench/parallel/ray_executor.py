"""Run work units on a Ray cluster (optional extra: ``pip install 'lode-bench[ray]'``).

:class:`RayExecutor` implements the :class:`~lode_bench.parallel.executor.Executor`
interface with Ray tasks (:meth:`~RayExecutor.map_unordered`: one task per item, any
node) and Ray actors (:meth:`~RayExecutor.map_stateful`: one long-lived actor per GPU,
or per CPU slot on CPU-only clusters, each building its state, e.g. a model, once).

Failures are split in two, so that the driver stays in control:

* an exception raised by the function itself (a corrupt image, a model that crashes on
  one input) comes back as that item's result and is never retried;
* a lost worker (process killed, node gone, out of memory) makes the driver resubmit the
  item, up to ``max_retries`` times; :attr:`RayExecutor.retried` counts these. Ray's own
  retries are switched off (``max_retries=0``, ``max_task_retries=0``) because the
  driver cannot observe them; actors still restart (``max_restarts``) and rebuild
  their state.

One lost worker costs each item it held exactly one attempt. A model actor that died is
taken out of rotation and probed until it answers again: while Ray restarts it, calls
sent to it fail at once ("the actor is restarting"), and sending the lost items straight
back would use up their retries on a single death. An actor that cannot come back (its
restarts used up, or not back within ``restart_timeout_s``) hands its items to the
others; when none is left, the remaining items come back as :class:`WorkerLostError`.

Work units are idempotent (they write nothing but atomic files whose bytes depend only
on the unit), so running one twice is harmless. Only the driver writes the results
store and dataset journals.

Connecting: ``address=None`` starts a private local Ray instance (never one left over
in the temp folder; its session folder is private and removed on :meth:`close`); ``address="HOST:PORT"`` joins a cluster started with
``ray start --head``. A cluster started with token authentication (the default of
``ray start`` in recent Ray) needs the same ``RAY_AUTH_MODE=token`` and token
(``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``) in the driver's environment.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from lode_bench.errors import ConfigError, LodeBenchError
from lode_bench.parallel.executor import Executor, SetupError

T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")

INSTALL_HINT = "the Ray executor needs the 'ray' extra: pip install 'lode-bench[ray]'"

PROBE_INTERVAL_S = 0.2  # between probes of a model actor that Ray is restarting


class WorkerLostError(LodeBenchError):
    """An item whose worker was lost more often than the executor retries."""


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(INSTALL_HINT) from exc
    return ray


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class _StatefulWorker:
    """Ray actor body: builds the state once, then applies ``fn`` to each item."""

    def __init__(self, setup: Callable[[], Any]) -> None:
        self.state = setup()

    def call(self, fn: Callable[[Any, Any], Any], item: Any) -> Any:
        return fn(self.state, item)

    def pid(self) -> int:
        return os.getpid()


class RayExecutor(Executor):
    """Executor on a Ray cluster.

    Args:
        address: ``"HOST:PORT"`` of a running cluster; ``None`` starts a private local one.
        num_cpus: CPUs reserved per task (and per actor on CPU-only clusters).
        max_retries: resubmissions of an item after its worker was lost.
        gpus_per_model: GPUs per model actor; ``None``: 1 when the cluster has GPUs, else 0.
        max_actors: at most this many model actors (default: one per GPU, or per
            ``num_cpus`` CPUs when ``gpus_per_model`` is 0).
        init_kwargs: extra ``ray.init`` arguments.
        restart_timeout_s: how long a model actor that died may take to come back
            (restart and rebuild its state) before its items go to the other actors.

    Raises:
        ConfigError: Ray is not installed (names the extra), or bad numbers.
    """

    hosts_models = True

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: float = 1.0,
        max_retries: int = 3,
        gpus_per_model: float | None = None,
        max_actors: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
        restart_timeout_s: float = 300.0,
    ) -> None:
        import_ray()
        if num_cpus <= 0 or max_retries < 0 or (gpus_per_model is not None and gpus_per_model < 0):
            raise ConfigError(
                "ray executor: num_cpus must be > 0, max_retries and gpus_per_model >= 0"
            )
        if restart_timeout_s <= 0:
            raise ConfigError(
                f"ray executor: restart_timeout_s must be > 0, got {restart_timeout_s}"
            )
        if max_actors is not None and max_actors < 1:
            raise ConfigError(f"ray executor: max_actors must be >= 1, got {max_actors}")
        self.address = address
        self.num_cpus = float(num_cpus)
        self.max_retries = int(max_retries)
        self.gpus_per_model = gpus_per_model
        self.max_actors = max_actors
        self.init_kwargs = dict(init_kwargs or {})
        self.restart_timeout_s = float(restart_timeout_s)
        self.retried = 0
        self.workers = 0
        self._started = False
        self._task: Any = None
        self._temp_dir: str | None = None

    # -- cluster ----------------------------------------------------------------------
    def _ray(self) -> Any:
        """Connect (once) and return the ``ray`` module."""
        ray = import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "logging_level": logging.ERROR,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address is None:
                kwargs.update(address="local", include_dashboard=False)
                if (
                    "_temp_dir" not in self.init_kwargs
                ):  # a private session folder, removed on close,
                    self._temp_dir = tempfile.mkdtemp(prefix="lbray-")  # so none is left to capture
                    kwargs["_temp_dir"] = (
                        self._temp_dir
                    )  # a later ray.init(); short for socket paths
            else:
                kwargs.update(address=self.address)
            kwargs.update(self.init_kwargs)
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(
                    f"cannot connect to the Ray cluster at {self.address or 'local'}: {exc}. "
                    "Clusters with token authentication need RAY_AUTH_MODE=token and "
                    "the cluster's token (RAY_AUTH_TOKEN) in this environment."
                ) from exc
            self._started = True
        if not self.workers:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return ray

    def cluster_resources(self) -> dict[str, float]:
        """Total resources of the cluster (``CPU``, ``GPU``, memory...)."""
        return dict(self._ray().cluster_resources())

    def _system_errors(self, ray: Any) -> tuple[type[BaseException], ...]:
        ex = ray.exceptions
        return tuple(
            getattr(ex, n)
            for n in (
                "WorkerCrashedError",
                "RayActorError",
                "ActorUnavailableError",
                "NodeDiedError",
                "ObjectLostError",
                "OutOfMemoryError",
                "LocalRayletDiedError",
                "ObjectFetchTimedOutError",
            )
            if hasattr(ex, n)
        )

    def _outcome(self, ray: Any, ref: Any) -> tuple[bool, Any]:
        """(lost, value): ``lost`` when the worker died; otherwise the result or the fn's exception."""
        try:
            return False, ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # raised by the function: the item's result
            cause = getattr(exc, "cause", None)
            return False, cause if isinstance(cause, BaseException) else exc
        except self._system_errors(ray) as exc:
            if getattr(exc, "actor_init_failed", False):  # setup() raised: retrying cannot help
                return False, SetupError(f"worker setup failed: {exc}")
            return True, exc
        except ray.exceptions.RayError as exc:  # anything else from Ray: report, do not loop
            return False, exc

    def _give_up(self, item: Any, attempts: int, exc: BaseException) -> WorkerLostError:
        return WorkerLostError(
            f"worker lost {attempts} times while running this item; giving up "
            f"(last: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        )

    # -- tasks ------------------------------------------------------------------------
    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, max_in_flight: int | None = None
    ) -> Iterator[tuple[T, R | BaseException]]:
        ray = self._ray()
        if self._task is None:
            self._task = ray.remote(_apply).options(
                num_cpus=self.num_cpus, max_retries=0, retry_exceptions=False
            )
        task = self._task
        fn_ref = ray.put(fn)
        limit = max_in_flight or 2 * self.workers
        it = iter(items)
        pending: dict[Any, tuple[T, int]] = {}
        while True:
            for item in islice(it, max(0, limit - len(pending))):
                pending[task.remote(fn_ref, item)] = (item, 1)
            if not pending:
                return
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                item, attempts = pending.pop(ref)
                lost, value = self._outcome(ray, ref)
                if lost and attempts <= self.max_retries:
                    self.retried += 1
                    pending[task.remote(fn_ref, item)] = (item, attempts + 1)
                    continue
                yield item, (self._give_up(item, attempts, value) if lost else value)

    # -- actors -----------------------------------------------------------------------
    def _actor_count(self, ray: Any, num_gpus: float, num_cpus: float) -> int:
        res = ray.cluster_resources()
        if num_gpus > 0:
            n = int(res.get("GPU", 0) // num_gpus)
            if n < 1:
                raise ConfigError(
                    f"ray executor: models need {num_gpus} GPU each, the cluster has "
                    f"{res.get('GPU', 0):g}"
                )
        else:
            n = max(1, int(res.get("CPU", 1) // num_cpus))
        return min(n, self.max_actors) if self.max_actors else n

    def model_gpus(self, device: str = "auto") -> float:
        """GPUs per model actor for a run on ``device`` (0 for ``cpu`` or a GPU-less cluster).

        Raises:
            ConfigError: ``device`` names CUDA but the cluster has no GPU.
        """
        if device == "cpu":
            return 0.0
        gpus = self.cluster_resources().get("GPU", 0)
        if device.startswith("cuda") and gpus < 1:
            raise ConfigError(f"device {device!r} requested but the Ray cluster has no GPU")
        if self.gpus_per_model is not None:
            return float(self.gpus_per_model)
        return 1.0 if gpus >= 1 else 0.0

    def map_stateful(
        self,
        setup: Callable[[], S],
        fn: Callable[[S, T], R],
        items: Iterable[T],
        *,
        max_in_flight: int | None = None,
        num_gpus: float = 0.0,
        num_cpus: float | None = None,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """One actor per ``num_gpus`` GPUs (or per ``num_cpus`` CPUs), each calling ``setup()`` once.

        Items go to the least busy actor that is up, at most ``max_in_flight`` per actor
        (default 2, so the next item is queued while one runs). An actor that dies is
        restarted by Ray (``max_restarts``) and rebuilds its state; each item it held is
        charged one attempt and resubmitted once an actor can take it (see the module
        docstring).
        """
        ray = self._ray()
        cpus = self.num_cpus if num_cpus is None else float(num_cpus)
        n = self._actor_count(ray, num_gpus, cpus)
        actor_cls = ray.remote(_StatefulWorker).options(
            num_cpus=cpus, num_gpus=num_gpus, max_restarts=self.max_retries, max_task_retries=0
        )
        pool = _ActorPool(
            [actor_cls.remote(setup) for _ in range(n)], max_in_flight or 2, self.restart_timeout_s
        )
        fn_ref = ray.put(fn)
        pending: dict[Any, tuple[T, int, int]] = {}
        again: deque[tuple[T, int]] = (
            deque()
        )  # lost items waiting for an actor, with their attempt number
        it = iter(items)
        exhausted = False
        try:
            while True:
                while (k := pool.free()) is not None and (again or not exhausted):
                    if again:
                        item, attempts = again.popleft()
                    else:
                        try:
                            item, attempts = next(it), 1
                        except StopIteration:
                            exhausted = True
                            break
                    pool.load[k] += 1
                    pending[pool.actors[k].call.remote(fn_ref, item)] = (item, attempts, k)
                pool.send_probes()
                if not pending and not pool.coming_back():
                    if again or not exhausted:  # every actor is gone for good
                        err = pool.gone_error(n)
                        for item, _ in again:
                            yield item, err
                        for item in it:
                            yield item, err
                    return
                refs = [*pending, *pool.probes]
                if not refs:  # only probes waiting for their time
                    time.sleep(pool.wait_s() or 0.0)
                    continue
                ready, _ = ray.wait(refs, num_returns=1, timeout=pool.wait_s())
                for ref in ready:
                    if ref in pool.probes:
                        pool.answered(ray, ref, self._outcome(ray, ref))
                        continue
                    item, attempts, k = pending.pop(ref)
                    pool.load[k] -= 1
                    lost, value = self._outcome(ray, ref)
                    if lost:
                        pool.lost(k)
                        if attempts <= self.max_retries:
                            self.retried += 1
                            again.append((item, attempts + 1))
                            continue
                    yield item, (self._give_up(item, attempts, value) if lost else value)
        finally:
            for a in pool.actors:
                try:
                    ray.kill(a, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass

    # -- lifecycle ----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Executor facts for the run record (connects, to count the cluster's CPUs)."""
        self._ray()
        return {"executor": "ray", "workers": self.workers, "ray_address": self.address or "local"}

    def close(self) -> None:
        """Disconnect (and stop the private local instance, if this executor started one)."""
        if self._started:
            ray = import_ray()
            if ray.is_initialized():
                ray.shutdown()
            self._started = False
            self._task = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None


class _ActorPool:
    """Model actors of one :meth:`RayExecutor.map_stateful` call and what the driver knows of them.

    Each actor is ``up`` (takes items), ``down`` (lost a call: probed with ``pid()``
    until it answers, then up again) or ``gone`` (cannot come back: its restarts are used
    up, its setup failed, or it stayed unreachable for ``restart_timeout_s``).
    """

    def __init__(self, actors: list[Any], per_actor: int, restart_timeout_s: float) -> None:
        self.actors = actors
        self.per_actor = per_actor
        self.restart_timeout_s = restart_timeout_s
        self.state = ["up"] * len(actors)
        self.load = [0] * len(actors)
        self.down_since = [0.0] * len(actors)
        self.died_answers = [0] * len(actors)  # "actor died" answers to probes in a row
        self.probe_at: dict[int, float] = {}  # down actor -> when to send its next probe
        self.probes: dict[Any, int] = {}  # probe in flight -> actor
        self.last_error: BaseException | None = None

    def free(self) -> int | None:
        """The least busy actor that is up and has room, if any."""
        ks = [k for k, st in enumerate(self.state) if st == "up" and self.load[k] < self.per_actor]
        return min(ks, key=self.load.__getitem__) if ks else None

    def lost(self, k: int) -> None:
        """A call on actor ``k`` was lost: take it out of rotation until a probe says it is back."""
        if self.state[k] == "up":
            self.state[k] = "down"
            self.down_since[k] = time.monotonic()
            self.died_answers[k] = 0
            self.probe_at[k] = self.down_since[k]

    def send_probes(self) -> None:
        now = time.monotonic()
        for k, at in list(self.probe_at.items()):
            if at <= now:
                del self.probe_at[k]
                self.probes[self.actors[k].pid.remote()] = k

    def coming_back(self) -> bool:
        return bool(self.probes or self.probe_at)

    def wait_s(self) -> float | None:
        """Seconds until the next probe is due (``None``: none is scheduled)."""
        if not self.probe_at:
            return None
        return max(0.0, min(self.probe_at.values()) - time.monotonic())

    def answered(self, ray: Any, ref: Any, outcome: tuple[bool, Any]) -> None:
        """Record the answer to a probe of a down actor."""
        k = self.probes.pop(ref)
        lost, value = outcome
        if not lost and not isinstance(value, BaseException):
            self.state[k] = "up"
            return
        self.last_error = value
        if not lost:  # its setup failed when Ray restarted it
            self.state[k] = "gone"
            return
        if not isinstance(value, ray.exceptions.ActorUnavailableError):  # dead, not restarting
            self.died_answers[k] += 1
        if (
            self.died_answers[k] >= 2
            or time.monotonic() - self.down_since[k] > self.restart_timeout_s
        ):
            self.state[k] = "gone"
            return
        self.probe_at[k] = time.monotonic() + PROBE_INTERVAL_S

    def gone_error(self, n: int) -> BaseException:
        """The result of the items left when every actor is gone."""
        if isinstance(self.last_error, SetupError):
            return self.last_error
        last = (
            f"{type(self.last_error).__name__}: {str(self.last_error).splitlines()[0]}"
            if self.last_error
            else "-"
        )
        return WorkerLostError(
            f"no model actor left to run this item: all {n} died and did not come back "
            f"(last: {last})"
        )
