"""`homeprice data`: fetch, validate and clean one dataset."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption
from homeprice.cli.render import out, render_clean, render_quality
from homeprice.config import load_settings

app = typer.Typer(help="Fetch, validate and clean datasets.", no_args_is_help=True)


@app.command("fetch")
def data_fetch(
    dataset: DatasetOption,
    source: Annotated[str | None, typer.Option(help="Path or URL (http, https, any fsspec URL).")
                      ] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected sha256 of the file.")] = None,
    full: Annotated[bool, typer.Option(help="Download the full public dataset.")] = False,
) -> None:
    """Copy or download a dataset's source into the lake's raw zone."""
    from homeprice.data.ingest import fetch
    from homeprice.datasets import get_dataset

    result = fetch(get_dataset(dataset), load_settings(), source=source, sha256=sha256, full=full)
    out.print(f"[green]fetched[/] {result.dataset}: {result.rows:,} rows from {result.source}\n"
              f"  sha256 {result.sha256}\n  -> {result.path}", highlight=False)


@app.command("validate")
def data_validate(
    dataset: DatasetOption,
    input: Annotated[str | None, typer.Option("--input", help="File to validate instead of the "
                                              "latest fetched raw data.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the schema and measure data quality; exit 2 on critical violations."""
    from homeprice.data.cleaning import validate_raw
    from homeprice.datasets import get_dataset

    report, path = validate_raw(get_dataset(dataset), load_settings(), input)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    render_quality(report.to_dict())
    out.print(f"report: {path}", highlight=False)


@app.command("clean")
def data_clean(dataset: DatasetOption) -> None:
    """Clean the latest raw data into a new clean version, counting every dropped row."""
    from homeprice.data.cleaning import clean
    from homeprice.datasets import get_dataset

    summary = clean(get_dataset(dataset), load_settings())
    render_clean([summary.to_dict()])
    out.print(f"-> {summary.path}", highlight=False)
