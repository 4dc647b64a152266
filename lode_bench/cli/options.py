"""The one option vocabulary of the ``lode-bench`` command line.

Every command that has one of these options takes it from here, so a name, its short
form, its choices and its default are the same everywhere:

- ``--workers/-j N``: parallel workers (default: the number of CPU cores);
- ``--executor NAME``: where work runs, one of :data:`EXECUTOR_CHOICES`, default
  :data:`DEFAULT_EXECUTOR`; ``--ray-address HOST:PORT`` goes with it;
- ``--lpips NET``: add an LPIPS column, one of :data:`LPIPS_CHOICES`;
- ``-q/--quiet``: no progress bars;
- ``--split NAME``: the dataset split, default :data:`DEFAULT_SPLIT`.

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


def workers_option(help: str = "Parallel workers (default: CPU cores).") -> Callable[[F], F]:
    """``--workers/-j N``."""
    return click.option("--workers", "-j", "workers", type=click.IntRange(min=1), default=None, help=help)


def executor_options(what: str = "work units") -> Callable[[F], F]:
    """``--executor NAME`` and ``--ray-address HOST:PORT`` (parameters ``executor_name``, ``ray_address``)."""

    def deco(fn: F) -> F:
        fn = click.option("--ray-address", "ray_address", default=None, metavar="HOST:PORT",
                          help="Ray cluster to join (default with --executor ray: a private local Ray).")(fn)
        return click.option("--executor", "executor_name", type=click.Choice(EXECUTOR_CHOICES),
                            default=DEFAULT_EXECUTOR, show_default=True,
                            help=f"Where {what} run: here one at a time (serial), a local pool of "
                                 "threads or processes, or a Ray cluster.")(fn)

    return deco


def lpips_option(help: str = "Add an LPIPS column (needs the ImageNet backbone weights file).") -> Callable[[F], F]:
    """``--lpips NET`` (parameter ``lpips_net``)."""
    return click.option("--lpips", "lpips_net", type=click.Choice(LPIPS_CHOICES), default=None, help=help)


def quiet_option(help: str = "No progress bars.") -> Callable[[F], F]:
    """``-q/--quiet``."""
    return click.option("--quiet", "-q", "quiet", is_flag=True, help=help)


def split_option(help: str | None = None, default: str | None = DEFAULT_SPLIT) -> Callable[[F], F]:
    """``--split NAME`` with the one default (``None`` only where a command reads every split)."""
    text = help or f"Dataset split (default: {default})."
    return click.option("--split", "split", default=default, help=text)
