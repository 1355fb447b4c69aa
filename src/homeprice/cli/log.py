"""`homeprice log`: housekeeping of the prediction log (archive old rows to the lake, prune)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from homeprice.cli.options import DATASET_HELP
from homeprice.cli.render import out
from homeprice.config import load_settings

app = typer.Typer(help="Prediction log housekeeping.", no_args_is_help=True)


@app.command("prune")
def log_prune(
    older_than: Annotated[str | None, typer.Option(
        "--older-than", help="Archive and delete predictions older than this: a whole number "
        "and a unit s, m, h, d or w, e.g. 90d, 12h, 2w (default: log_retention.older_than).")
    ] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", help=f"{DATASET_HELP} Default: every dataset in the log.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be archived "
                                          "and deleted; write and delete nothing.")] = False,
    batch_size: Annotated[int | None, typer.Option(
        min=1, max=10_000, help="Predictions per archive-and-delete step (default: "
        "log_retention.batch_size).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Archive old predictions and their feedback to the lake as Parquet, then delete them."""
    from homeprice.datasets import get_dataset
    from homeprice.predictionlog.retention import prune_log

    # prune_log reads --older-than before it opens anything: a typo costs nothing.
    name = get_dataset(dataset).name if dataset else None
    report = prune_log(load_settings(), older_than, name, dry_run=dry_run,
                       batch_size=batch_size)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
        return
    verb = "would archive" if dry_run else "archived"
    table = Table(title=f"prediction log older than {report.older_than} (before "
                        f"{report.cut:%Y-%m-%d %H:%M} UTC){' - dry run' if dry_run else ''}")
    for column in ("table", "dataset", "day", verb, "already archived",
                   "would delete" if dry_run else "deleted"):
        table.add_column(column, justify="left" if column in ("table", "dataset", "day")
                         else "right")
    for key in sorted(report.partitions):
        count = report.partitions[key]
        table.add_row(count.table, count.dataset, count.day, f"{count.archived:,}",
                      f"{count.already_archived:,}", f"{count.deleted:,}")
    out.print(table)
    totals = report.totals()
    summary = "; ".join(f"{name}: {values['archived']:,} {verb}, {values['deleted']:,} "
                        f"{'to delete' if dry_run else 'deleted'}"
                        for name, values in totals.items())
    out.print(f"{summary}" + (f"; {report.kept_for_late_feedback:,} kept for feedback that "
                             "arrived meanwhile (next run)" if report.kept_for_late_feedback
                             else ""), highlight=False)
