"""`homeprice models`: registered versions, promotion, rollback, retiring a challenger, the audit
trail."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from homeprice.cli.options import DatasetOption
from homeprice.cli.render import money, out
from homeprice.config import load_settings

# Compare-and-set: the move is refused when the champion is no longer what the user looked at.
ExpectedChampion = Annotated[str | None, typer.Option(
    help="Refuse (exit 1) unless the champion is still this version.")]

app = typer.Typer(help="Registered model versions, aliases and their history.",
                  no_args_is_help=True)


@app.command("list")
def models_list(
    dataset: DatasetOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Registered versions with aliases, lifecycle stage, key metrics and creation time."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    settings = load_settings()
    client = tracking.configure(settings)
    # The CLI sees the configured traffic, not a running server's (admin changes at run time
    # show in the UI's Models page, which asks the server).
    traffic = settings.serving.traffic_for(ds.name)
    has_challenger = registry.alias_version(client, ds.name, registry.CHALLENGER) is not None
    rows = registry.list_versions(client, ds.name, traffic.effective(has_challenger))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{registry.model_name(ds.name)} ({ds.target_unit}; traffic "
                        f"{traffic.mode} as configured)")
    for column in ("version", "aliases", "stage", "candidate", "test RMSE", "MAPE", "R²",
                   "coverage", "created", "gate"):
        table.add_column(column)
    for r in rows:
        m = r["metrics"]
        stage = r["stage"] + (f" ({r['stage_detail']})" if r["stage_detail"] else "")
        table.add_row(r["version"], ", ".join(r["aliases"]), stage, r["candidate"] or "",
                      money(m["rmse"], ds.target_unit) if "rmse" in m else "",
                      f"{m['mape']:.1%}" if "mape" in m else "",
                      f"{m['r2']:.3f}" if "r2" in m else "",
                      f"{m['interval_coverage']:.3f}" if "interval_coverage" in m else "",
                      r["created"], (r["gate"] or "").split(":")[0])
    out.print(table if rows else f"no registered versions of {registry.model_name(ds.name)}")


@app.command("promote")
def models_promote(
    dataset: DatasetOption,
    version: Annotated[str, typer.Option(help="Version number to make champion.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    expected_champion: ExpectedChampion = None,
) -> None:
    """Make a version the champion."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entry = registry.promote(tracking.configure(load_settings()), ds.name, version, reason,
                             expected_champion=expected_champion)
    out.print(f"champion of {ds.name}: v{entry.from_version or '-'} -> v{entry.to_version}",
              highlight=False)


@app.command("rollback")
def models_rollback(
    dataset: DatasetOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    expected_champion: ExpectedChampion = None,
) -> None:
    """Give the champion alias back to the previous champion."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entry = registry.rollback(tracking.configure(load_settings()), ds.name, reason,
                              expected_champion=expected_champion)
    out.print(f"rolled back {ds.name}: champion v{entry.from_version} -> v{entry.to_version}",
              highlight=False)


@app.command("retire")
def models_retire(
    dataset: DatasetOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    expected_challenger: Annotated[str | None, typer.Option(
        help="Refuse (exit 1) unless the challenger is still this version.")] = None,
) -> None:
    """Clear the challenger alias: servers stop scoring it; the version stays registered."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entry = registry.retire(tracking.configure(load_settings()), ds.name, reason,
                            expected_challenger=expected_challenger)
    out.print(f"retired challenger v{entry.from_version} of {ds.name}", highlight=False)


@app.command("history")
def models_history(
    dataset: DatasetOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The audit trail: every alias move with when, who, why and the metrics."""
    from dataclasses import asdict

    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entries = registry.history(tracking.configure(load_settings()), ds.name)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
        return
    table = Table(title=f"history of {registry.model_name(ds.name)}")
    for column in ("when", "action", "alias", "from", "to", "actor", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.at[:19], e.action, e.alias, e.from_version or "-", e.to_version or "-",
                      e.actor, e.reason)
    out.print(table if entries else "no history yet")
