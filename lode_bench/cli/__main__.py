"""``python -m lode_bench.cli``: the same as the ``lode-bench`` command."""

from lode_bench.cli import main

main()
