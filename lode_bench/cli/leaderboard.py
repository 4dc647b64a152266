"""``lode-bench leaderboard``: validate submissions, export them from a store, build the site."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lode_bench.cli.base import EXIT_SOME_FAILED, Group
from lode_bench.cli.options import quiet_option


def _board_root(text: str) -> Path:
    """A leaderboard folder given as a path or the name of a shipped board (``sample``);
    a misspelled name is an input error with ``did you mean``."""
    from lode_bench.resources import leaderboard_root

    return leaderboard_root(text)


@click.group("leaderboard", cls=Group)
def leaderboard_group() -> None:
    """Leaderboards: validate submissions and build the static site.

    Exit status: 0 done; 1 when a submission is rejected by `validate` (by `build` with
    --strict); 2 for a usage or input error (one line).
    """


@leaderboard_group.command("build")
@click.argument("root")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the static site.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when a submission is rejected.")
@quiet_option("No progress bar (default: shown on a terminal).")
def leaderboard_build(root: str, out: Path, strict: bool, quiet: bool) -> None:
    """Validate ROOT's submissions and write the site (index, dataset pages, method cards).

    ROOT is a leaderboard folder or the name of a shipped one (`lode-bench ls leaderboards`).
    Rejected submissions are a result: listed on the site (with their problems) and
    here, the others built and ranked; the exit status is 0 unless --strict.
    """
    from lode_bench.report.site import build_site

    res = build_site(_board_root(root), out, progress=sys.stderr.isatty() and not quiet)
    for v in res.rejected:
        click.echo(f"rejected {v.path.name}: " + "; ".join(v.problems), err=True)
    click.echo(
        f"{len(res.accepted)} accepted, {len(res.rejected)} rejected -> {out / 'index.html'}"
    )
    click.echo((out / "leaderboard.md").read_text(encoding="utf-8"))
    if strict and res.rejected:
        sys.exit(EXIT_SOME_FAILED)


@leaderboard_group.command("validate")
@click.argument("root")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def leaderboard_validate(root: str, files: tuple[Path, ...]) -> None:
    """Check FILES (default: ROOT's submissions) against ROOT's leaderboard.yaml.

    ROOT is a leaderboard folder or the name of a shipped one. Exits with status 1 when any
    submission is rejected.
    """
    from lode_bench.report.leaderboard import load_leaderboard, validate_all

    spec = load_leaderboard(_board_root(root))
    verdicts = validate_all(spec, list(files) if files else None)
    if not verdicts:
        click.echo("no submissions found", err=True)
    for v in verdicts:
        if v.accepted:
            click.echo(f"accepted {v.path.name} ({v.name})")
        else:
            click.echo(f"rejected {v.path.name}: " + "; ".join(v.problems))
    if any(not v.accepted for v in verdicts):
        sys.exit(EXIT_SOME_FAILED)


@leaderboard_group.command("export")
@click.option(
    "--store", "store", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--model",
    required=True,
    help="Model name as stored, or a short form of it (folder@mymethod: mymethod).",
)
@click.option(
    "--leaderboard",
    "board",
    required=True,
    help="Leaderboard folder or shipped leaderboard (its name and datasets are used), "
    "or just a name.",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Method name shown on the board (default: model).")
@click.option("--description", default="", help="One-paragraph method description.")
@click.option("--paper", default="", help="Paper URL.")
@click.option("--code", default="", help="Code URL.")
@click.option("--training-set", default="", help="Training set of the weights.")
@click.option("--non-blind", is_flag=True, help="The method uses the true blur kernel.")
def leaderboard_export(
    store: Path,
    model: str,
    board: str,
    out: Path,
    name: str | None,
    description: str,
    paper: str,
    code: str,
    training_set: str,
    non_blind: bool,
) -> None:
    """Write a submission file for MODEL from a results store."""
    from lode_bench.bench.store import ResultsStore
    from lode_bench.report.leaderboard import load_leaderboard
    from lode_bench.report.submission import export_submission

    datasets = protocol = None
    board_name = board
    from lode_bench.resources import find_leaderboard

    board_dir = find_leaderboard(board)
    if board_dir is not None:
        spec = load_leaderboard(board_dir)
        board_name, protocol = spec.name, spec.protocol
        datasets = [d.manifest_hash for d in spec.datasets]
    method = {
        "name": name or model,
        "description": description,
        "paper": paper,
        "code": code,
        "training_set": training_set,
        "non_blind": non_blind,
    }
    with ResultsStore(store) as st:
        export_submission(
            st,
            model=model,
            leaderboard=board_name,
            method=method,
            datasets=datasets,
            protocol=protocol,
            out=out,
        )
    click.echo(f"wrote {out}")
