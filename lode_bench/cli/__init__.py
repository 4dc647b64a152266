"""The ``lode-bench`` command line: click lives only in this package.

One module per command; the group below names each as ``"module:attr"`` and imports it
on first use, so ``lode-bench --help`` imports no numerical library. Commands only
parse arguments, call the library and print; the exit-code rule is in
:mod:`lode_bench.cli.base`.
"""

from __future__ import annotations

import click

from lode_bench import __version__
from lode_bench.cli.base import LazyGroup

#: Command name -> ``"module:attr"`` of its click command.
COMMANDS: dict[str, str] = {
    "score": "lode_bench.cli.score:score",
    "ls": "lode_bench.cli.ls:ls",
    "synth": "lode_bench.cli.synth:synth",
    "capture": "lode_bench.cli.capture:capture",
    "align": "lode_bench.cli.align:align_command",
    "run": "lode_bench.cli.run:run_command",
    "report": "lode_bench.cli.report:report_command",
    "leaderboard": "lode_bench.cli.leaderboard:leaderboard_group",
    "demo": "lode_bench.cli.demo:demo_command",
    "dataset": "lode_bench.cli.dataset:dataset",
    "analyze": "lode_bench.cli.analyze:analyze_command",
    "nriqa": "lode_bench.cli.nriqa:nriqa",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lode-bench")
def main() -> None:
    """lode-bench: build deblurring datasets and score methods with the official protocols.

    Exit status of every command: 0 all went well; 1 some items (images, pairs, files,
    submissions) failed, each listed; 2 a usage or input error, printed as one line.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
