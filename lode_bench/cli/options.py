"""The one option vocabulary of the ``lode-bench`` command line.

Every command that has one of these options takes it from here, so a name, its short
form, its choices and its default are the same everywhere:

- ``--workers/-j N``: parallel workers (default: the number of CPU cores);
- ``--executor NAME``: where work runs, one of :data:`EXECUTOR_CHOICES`, default
  :data:`DEFAULT_EXECUTOR`; ``--ray-address HOST:PORT`` goes with it;
- ``--lpips NET``: add an LPIPS column, one of :data:`LPIPS_CHOICES`;
- ``-q/--quiet``: no progress bars;
- ``--split NAME``: the dataset split, default :data:`DEFAULT_SPLIT`; commands that
  read several kinds of dataset default to each kind's split instead (``test`` for
  ``KIND:PATH`` datasets, every split of a lode-bench dataset folder), and ``synth``
  writes the recipe's split;
- ``--size HxW``: an image size, height by width (``240x320``), on every command.

This module imports only click, so building the command list stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Executor names (the same tuple as :data:`lode_bench.parallel.EXECUTOR_NAMES`; kept
#: literal here so ``--help`` imports no executor code; a test checks they agree).
EXECUTOR_CHOICES: tuple[str, ...] = ("serial", "thread", "process", "ray")
#: Default ``--executor`` on every command.
DEFAULT_EXECUTOR = "thread"
#: LPIPS backbones.
LPIPS_CHOICES: tuple[str, ...] = ("alex", "vgg", "squeeze")
#: Default ``--split`` on every command that reads or writes a split.
DEFAULT_SPLIT = "test"
#: ``--split`` help of the commands that read datasets of any kind (default ``None``).
READ_SPLIT_HELP = (
    "Dataset split (default: test for KIND:PATH datasets, every split of a "
    "lode-bench dataset folder)."
)
#: Smallest side ``--size`` accepts.
MIN_SIDE = 16


def workers_option(help: str = "Parallel workers (default: CPU cores).") -> Callable[[F], F]:
    """``--workers/-j N``."""
    return click.option(
        "--workers", "-j", "workers", type=click.IntRange(min=1), default=None, help=help
    )


def executor_options(what: str = "work units") -> Callable[[F], F]:
    """``--executor NAME`` and ``--ray-address HOST:PORT`` (parameters ``executor_name``, ``ray_address``)."""

    def deco(fn: F) -> F:
        fn = click.option(
            "--ray-address",
            "ray_address",
            default=None,
            metavar="HOST:PORT",
            help="Ray cluster to join (default with --executor ray: a private local Ray).",
        )(fn)
        return click.option(
            "--executor",
            "executor_name",
            type=click.Choice(EXECUTOR_CHOICES),
            default=DEFAULT_EXECUTOR,
            show_default=True,
            help=f"Where {what} run: here one at a time (serial), a local pool of "
            "threads or processes, or a Ray cluster.",
        )(fn)

    return deco


def lpips_option(
    help: str = "Add an LPIPS column (needs the ImageNet backbone weights file).",
) -> Callable[[F], F]:
    """``--lpips NET`` (parameter ``lpips_net``)."""
    return click.option(
        "--lpips", "lpips_net", type=click.Choice(LPIPS_CHOICES), default=None, help=help
    )


def quiet_option(help: str = "No progress bars.") -> Callable[[F], F]:
    """``-q/--quiet``."""
    return click.option("--quiet", "-q", "quiet", is_flag=True, help=help)


def split_option(help: str | None = None, default: str | None = DEFAULT_SPLIT) -> Callable[[F], F]:
    """``--split NAME`` with the one default (``None`` only where a command reads every split)."""
    text = help or f"Dataset split (default: {default})."
    return click.option("--split", "split", default=default, help=text)


def parse_size(
    value: str | None, *, minimum: int = MIN_SIDE, maximum: int | None = None
) -> tuple[int, int] | None:
    """``"HxW"`` -> ``(H, W)``; ``None`` stays ``None``.

    Raises:
        click.BadParameter: not two integers joined by ``x``, or a side below ``minimum``
            or above ``maximum``.
    """
    if value is None:
        return None
    parts = value.lower().split("x")
    try:
        if len(parts) != 2:
            raise ValueError(value)
        h, w = int(parts[0]), int(parts[1])
    except ValueError:
        raise click.BadParameter(f"size must be HxW (e.g. 240x320), got {value!r}") from None
    if h < minimum or w < minimum:
        raise click.BadParameter(f"size must be at least {minimum}x{minimum}, got {value!r}")
    if maximum is not None and (h > maximum or w > maximum):
        raise click.BadParameter(f"size must be at most {maximum}x{maximum}, got {value!r}")
    return h, w


def size_option(
    help: str, default: str | None = None, minimum: int = MIN_SIDE, maximum: int | None = None
) -> Callable[[F], F]:
    """``--size HxW`` (parameter ``size``: ``(H, W)`` or ``None``)."""

    def convert(
        ctx: click.Context, param: click.Parameter, value: str | None
    ) -> tuple[int, int] | None:
        return parse_size(value, minimum=minimum, maximum=maximum)

    return click.option(
        "--size",
        "size",
        default=default,
        metavar="HxW",
        callback=convert,
        show_default=default is not None,
        help=help,
    )
