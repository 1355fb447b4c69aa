"""`homeprice data`: fetch, validate and clean one dataset."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption, EngineOption, known_engine
from homeprice.cli.render import out, render_clean, render_quality
from homeprice.config import load_settings
from homeprice.errors import UserInputError

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
    engine: EngineOption = None,
) -> None:
    """Check the schema and measure data quality; exit 2 on critical violations."""
    from homeprice.data.cleaning import validate_raw
    from homeprice.datasets import get_dataset

    settings = load_settings()
    report, path = validate_raw(get_dataset(dataset), settings, input,
                                engine=known_engine(settings, engine))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    render_quality(report.to_dict())
    out.print(f"report: {path}", highlight=False)


@app.command("clean")
def data_clean(
    dataset: DatasetOption,
    engine: EngineOption = None,
    input: Annotated[str | None, typer.Option(
        "--input", help="Clean this source file (CSV or Parquet) instead of the lake's latest "
                        "raw data; needs --output.")] = None,
    output: Annotated[str | None, typer.Option(
        "--output", help="Where --input's clean rows go (Parquet; a folder with spark).")
                      ] = None,
) -> None:
    """Clean the latest raw data into a new clean version, counting every dropped row."""
    from homeprice.data.cleaning import clean
    from homeprice.datasets import get_dataset

    settings = load_settings()
    chosen = known_engine(settings, engine)
    if (input is None) != (output is None):
        raise UserInputError("--input and --output go together (a file in, a file out)")
    if input is not None and output is not None:
        from homeprice.engines import engine_for

        report = engine_for(chosen, settings).clean(get_dataset(dataset), settings, input, output)
        render_clean([report.to_dict() | {"dataset": dataset, "version": f"{chosen} engine"}])
        out.print(f"-> {report.output}", highlight=False)
        return
    summary = clean(get_dataset(dataset), settings, engine=chosen)
    render_clean([summary.to_dict()])
    out.print(f"-> {summary.path}", highlight=False)


@app.command("synth")
def data_synth(
    dataset: DatasetOption,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows to generate.")],
    out_path: Annotated[str, typer.Option("--out", help="Parquet file to write.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same file.")] = 0,
    source: Annotated[str | None, typer.Option(
        help="Real data to fit on (default: the data dir's file, else the bundled sample).")
                      ] = None,
) -> None:
    """Write realistic synthetic rows (fitted on the real data) in the source format.

    Datasets with a generator: california, bengaluru.
    """
    from homeprice.data.synth import write_synthetic
    from homeprice.datasets import get_dataset

    report = write_synthetic(get_dataset(dataset), load_settings(), rows, out_path, seed=seed,
                             source=source)
    out.print(f"[green]synthesised[/] {report.rows:,} {dataset} rows (seed {report.seed}, "
              f"fitted on {report.fitted_on}) -> {report.output}", highlight=False)
