"""``lode-bench ls``: list registered protocols, metrics, models and datasets.

Each kind is a subcommand of the :data:`ls` group (``@ls.command(name=KIND)``); a bare
``lode-bench ls`` lists the kinds from the group itself, so a kind added by another
module appears there without any change here.
"""

from __future__ import annotations

import json
from typing import Any

import click

from lode_bench.cli.base import Group
from lode_bench.errors import LodeBenchError


def ls_entries(kind: str) -> list[dict[str, Any]]:
    """Rows describing the registered ``models`` or ``datasets`` (plugins included).

    Raises:
        LodeBenchError: for another kind.
    """
    if kind == "models":
        from lode_bench.models.card import list_model_cards

        rows = []
        for c in list_model_cards():
            flag = " [non-blind]" if c.non_blind else ""
            rows.append(
                {
                    "name": c.name,
                    "kind": c.kind,
                    "description": c.description + flag,
                    "input": f"{c.colour_order} 0-{c.input_range:g}, pad x{c.pad_multiple}",
                    "licence": c.licence,
                    "paper": c.paper,
                    "training_set": c.training_set,
                }
            )
        return rows
    if kind == "datasets":
        from lode_bench.datasets.registry import list_dataset_kinds

        return [{"name": k.name, "description": k.description} for k in list_dataset_kinds()]
    raise LodeBenchError(f"ls: unknown kind {kind!r} (models, datasets)")


def format_entries(kind: str) -> str:
    """A plain-text listing of :func:`ls_entries`."""
    rows = ls_entries(kind)
    width = max(len(r["name"]) for r in rows) if rows else 4
    lines = []
    for r in rows:
        lines.append(f"{r['name']:<{width}}  {r['description']}")
        if kind == "models":
            lines.append(
                f"{'':<{width}}    {r['kind']}, {r['input']}; licence: {r['licence']}"
                + (f"; trained on {r['training_set']}" if r["training_set"] else "")
            )
    return "\n".join(lines)


def format_kinds(ctx: click.Context) -> str:
    """The kinds ``lode-bench ls`` can list, one per line with its one-line help."""
    group = ctx.command
    assert isinstance(group, click.Group)
    names = group.list_commands(ctx)
    width = max(map(len, names)) if names else 0
    lines = [f"`{ctx.command_path} KIND` lists one of these:"]
    for name in names:
        cmd = group.get_command(ctx, name)
        if cmd is not None and not cmd.hidden:
            lines.append(f"  {name:<{width}}  {cmd.get_short_help_str(limit=80)}")
    return "\n".join(lines)


@click.group(name="ls", cls=Group, invoke_without_command=True)
@click.pass_context
def ls(ctx: click.Context) -> None:
    """List registered protocols, metrics, models or datasets (bare: the kinds)."""
    if ctx.invoked_subcommand is None:
        click.echo(format_kinds(ctx))


@ls.command(name="protocols")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_protocols(as_json: bool) -> None:
    """Named scoring protocols and whose numbers each reproduces."""
    from lode_bench.metrics.protocols import DEPTH16_TEXT, PROTOCOLS, list_protocols

    protos = list_protocols()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "version": p.version,
                        "columns": p.columns,
                        "mask": p.mask,
                        "reproduces": p.reproduces,
                        "depth16": p.depth16,
                        "notes": p.notes,
                        "description": p.description,
                    }
                    for p in protos
                ],
                indent=2,
            )
        )
        return
    for p in protos:
        aliases = PROTOCOLS.aliases(p.name)
        click.secho(f"{p.name}@{p.version}", bold=True, nl=False)
        click.echo(f"  (aliases: {', '.join(aliases)})" if aliases else "")
        click.echo(
            f"  columns:    {', '.join(p.columns)}"
            + (f"   [mask {p.mask}]" if p.mask != "none" else "")
        )
        click.echo(f"  reproduces: {p.reproduces}")
        click.echo(f"  16-bit:     {DEPTH16_TEXT[p.depth16]}")
        if p.notes:
            click.echo(f"  notes:      {p.notes}")
        click.echo(f"  {p.description}\n")


@ls.command(name="metrics")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_metrics(as_json: bool) -> None:
    """Every metric variant with its direction, range and colour rule."""
    from lode_bench.metrics.base import METRICS

    specs = [s for _, s in METRICS.items()]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "higher_is_better": s.higher_is_better,
                        "range": list(s.value_range),
                        "colour": s.colour,
                        "input": s.input_rule,
                        "needs_mask": s.needs_mask,
                        "legacy": s.legacy,
                        "no_reference": s.no_reference,
                        "symmetric": None if s.no_reference else s.symmetric,
                        "description": s.description,
                        "reference": s.reference,
                    }
                    for s in specs
                ],
                indent=2,
                default=str,
            )
        )
        return
    for s in specs:
        lo, hi = s.value_range
        flags = (
            " [needs mask]" * s.needs_mask
            + " [LEGACY]" * s.legacy
            + " [no reference]" * s.no_reference
        )
        if not s.symmetric and not s.no_reference:
            flags += " [asymmetric: aligns the prediction to the ground truth]"
        click.secho(s.name, bold=True, nl=False)
        click.echo(
            f"  {'↑ higher' if s.higher_is_better else '↓ lower'} is better, "
            f"range [{lo:g}, {hi:g}], colour: {s.colour}{flags}"
        )
        click.echo(f"  {s.description}")
        if s.reference:
            click.echo(f"  reference: {s.reference}")
        click.echo("")


@ls.command(name="models")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_models(as_json: bool) -> None:
    """Registered models (built-ins and plugins) with their cards."""
    click.echo(json.dumps(ls_entries("models"), indent=2) if as_json else format_entries("models"))


@ls.command(name="datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_datasets(as_json: bool) -> None:
    """Dataset kinds that `lode-bench run --dataset KIND:PATH` understands."""
    click.echo(
        json.dumps(ls_entries("datasets"), indent=2) if as_json else format_entries("datasets")
    )


@ls.command(name="suites")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_suites(as_json: bool) -> None:
    """Shipped benchmark suites (`lode-bench run --suite NAME`)."""
    from lode_bench.io.yamlfile import load_yaml
    from lode_bench.resources import list_suites

    rows = []
    for name, path in list_suites().items():
        try:
            doc = load_yaml(path)
        except LodeBenchError as exc:
            doc = {"description": f"(unreadable: {exc})"}
        text = doc.get("description", "") if isinstance(doc, dict) else ""
        rows.append({"name": name, "path": str(path), "description": " ".join(str(text).split())})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['description']}")


@ls.command(name="leaderboards")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_leaderboards(as_json: bool) -> None:
    """Shipped leaderboards (`lode-bench leaderboard build NAME`, `export --leaderboard NAME`)."""
    from lode_bench.report.leaderboard import load_leaderboard
    from lode_bench.resources import list_leaderboards

    rows = []
    for name, path in list_leaderboards().items():
        try:
            spec = load_leaderboard(path)
            title = (
                f"{spec.title} [{spec.protocol} v{spec.protocol_version}; "
                + ", ".join(d.name for d in spec.datasets)
                + "]"
            )
        except LodeBenchError as exc:
            title = f"(invalid: {exc})"
        rows.append({"name": name, "path": str(path), "title": title})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['title']}")
