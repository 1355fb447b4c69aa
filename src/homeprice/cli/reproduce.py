"""`homeprice reproduce`: retrain a logged run and compare its metrics with the logged ones."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from homeprice.cli.render import out
from homeprice.config import load_settings
from homeprice.errors import HomepriceError

app = typer.Typer()


@app.command("reproduce")
def reproduce_run(
    run_id: Annotated[str, typer.Option("--run-id", help="MLflow run id of a pipeline run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")
                       ] = False,
) -> None:
    """Retrain a logged run from its data sha256, config and seed; compare old and new metrics."""
    from homeprice.formatting import human_number as num
    from homeprice.reproduce import TOLERANCE, reproduce

    result = reproduce(run_id, load_settings())
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(title=f"{result.dataset}: run {result.run_id} reproduced as "
                            f"{result.new_run_id} (data {result.data_sha256[:12]})")
        for column in ("candidate", "metric", "logged", "reproduced", "difference", "equal"):
            table.add_column(column)
        for c in result.comparisons:
            table.add_row(c.candidate, c.metric, num(c.old), num(c.new), f"{c.new - c.old:.3g}",
                          "yes" if c.equal else "[red]no[/]")
        out.print(table)
        for note in result.notes:
            out.print(f"note: {note}", highlight=False)
    if not result.reproduced:
        raise HomepriceError(f"run {result.run_id} did not reproduce within {TOLERANCE:g}")
    if not as_json:
        out.print(f"reproduced: every metric equal within {TOLERANCE:g}", highlight=False)
