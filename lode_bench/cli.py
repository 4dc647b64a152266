"""lode-bench command line (placeholder until the scoring core lands)."""
import click


@click.group()
def main() -> None:
    """lode-bench."""
