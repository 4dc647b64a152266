"""The click classes every ``lode-bench`` command and command group shares.

One exit-code rule for the whole command line:

- 0: everything worked;
- 1 (:data:`EXIT_SOME_FAILED`): the command ran to the end but some items (images,
  pairs, samples, files, submissions) failed; each failure is listed;
- 2 (:data:`EXIT_USAGE`): a usage or input error (unknown option, missing or bad
  file, invalid configuration), printed as one line ``error: ...`` and no traceback.

:class:`Command` and :class:`Group` apply the rule: a :class:`LodeBenchError` raised
by a command, a click usage error and any other :class:`click.ClickException` become
one ``error:`` line and exit status 2, whether the command is run through the
``lode-bench`` group or on its own (as tests do). A group applies it to its
subcommands too, whatever their class.
"""

from __future__ import annotations

import importlib
from typing import IO, Any

import click
from click.exceptions import NoArgsIsHelpError

from lode_bench.errors import LodeBenchError

#: Exit status when some items failed but the command ran to the end.
EXIT_SOME_FAILED = 1
#: Exit status of a usage or input error (click's own usage errors exit 2 too).
EXIT_USAGE = 2


class InputError(click.ClickException):
    """A usage or input error shown as one line ``error: MESSAGE``; exit status 2."""

    exit_code = EXIT_USAGE

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``error: MESSAGE`` (one line) on stderr."""
        text = " ".join(self.format_message().split("\n"))
        click.secho(f"error: {text}", fg="red", err=True, file=file)


def one_line(exc: BaseException) -> BaseException:
    """The exception to raise instead of ``exc`` under the exit-code rule.

    A :class:`LodeBenchError` or a :class:`click.ClickException` (usage errors
    included) becomes an :class:`InputError`; a usage error keeps a pointer to the
    command's ``--help``. "No arguments: show the help" and anything else pass
    through unchanged.
    """
    if isinstance(exc, (InputError, NoArgsIsHelpError)):
        return exc
    if isinstance(exc, LodeBenchError):
        return InputError(str(exc))
    if isinstance(exc, click.ClickException):
        msg = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, click.UsageError) and ctx is not None:
            msg = f"{msg.rstrip('.')} (see '{ctx.command_path} --help')"
        return InputError(msg)
    return exc


class _ExitRule:
    """Mixin applying :func:`one_line` to parsing and invocation errors."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[misc]
        except (LodeBenchError, click.ClickException) as exc:
            new = one_line(exc)
            if new is exc:
                raise
            raise new from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except (LodeBenchError, click.ClickException) as exc:
            new = one_line(exc)
            if new is exc:
                raise
            raise new from None


class Command(_ExitRule, click.Command):
    """Click command that follows the exit-code rule (errors: one line, exit 2)."""


class Group(_ExitRule, click.Group):
    """Click group that follows the exit-code rule, for itself and every subcommand.

    Subcommands declared with ``@group.command`` are :class:`Command`; subgroups
    declared with ``@group.group`` are of the parent's class.
    """

    command_class = Command
    group_class = type


def _load_command(target: str, name: str) -> click.Command | None:
    """The click command at ``"module:attr"``; warns (never crashes) if it cannot be imported."""
    module, _, attr = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # a broken stage must not break the whole CLI
        click.secho(
            f"warning: command {name!r} unavailable ({target}: {type(exc).__name__}: {exc})",
            fg="yellow",
            err=True,
        )
        return None
    if not isinstance(obj, click.Command):
        click.secho(
            f"warning: command {name!r} unavailable ({target} is not a click command)",
            fg="yellow",
            err=True,
        )
        return None
    return obj


class LazyGroup(Group):
    """Group whose commands are named ``"module:attr"`` and imported on first use.

    Listing the commands (``lode-bench --help``) imports the command modules, which
    import only click and :mod:`lode_bench.errors` at module level; numerical
    libraries are imported inside the command functions.
    """

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
