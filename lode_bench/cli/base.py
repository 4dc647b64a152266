"""The click group classes every ``lode-bench`` command group shares.

One exit-code rule for the whole command line: 0 when everything worked, 1 when some
items (images, pairs, samples) failed, 2 for a usage or input error, printed as one line.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from lode_bench.errors import LodeBenchError

#: Exit status when some items failed but the command ran to the end.
EXIT_SOME_FAILED = 1
#: Exit status of a usage or input error (click's own usage errors exit 2 too).
EXIT_USAGE = 2


class Group(click.Group):
    """Click group that turns :class:`LodeBenchError` into a one-line message and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LodeBenchError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(EXIT_USAGE)


def _load_command(target: str, name: str) -> click.Command | None:
    """The click command at ``"module:attr"``; warns (never crashes) if it cannot be imported."""
    module, _, attr = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # a broken stage must not break the whole CLI
        click.secho(f"warning: command {name!r} unavailable ({target}: {type(exc).__name__}: {exc})",
                    fg="yellow", err=True)
        return None
    if not isinstance(obj, click.Command):
        click.secho(f"warning: command {name!r} unavailable ({target} is not a click command)",
                    fg="yellow", err=True)
        return None
    return obj


class LazyGroup(Group):
    """Group whose commands are named ``"module:attr"`` and imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None and name in self._lazy:
            cmd = _load_command(self._lazy[name], name)
            if cmd is not None:
                self.add_command(cmd, name=name)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with their one-line help without importing them when possible."""
        super().format_commands(ctx, formatter)
