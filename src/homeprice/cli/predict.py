"""`homeprice predict`: batch predictions for every row of a file."""

from __future__ import annotations

from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption, known_engine
from homeprice.cli.render import out
from homeprice.config import load_settings

app = typer.Typer()


@app.command("predict")
def predict(
    dataset: DatasetOption,
    input: Annotated[str, typer.Option("--input", help="CSV/Parquet in the source format.")],
    output: Annotated[str, typer.Option("--output", help="Where to write the predictions.")],
    model: Annotated[str, typer.Option(help="champion, challenger or a version number.")
                     ] = "champion",
    comparables: Annotated[int, typer.Option(
        "--comparables", min=0, max=50, metavar="K",
        help="Add the K most similar training homes per row (ids, prices, distances), their "
             "estimate, range and agreement with the model's price.")] = 0,
    engine: Annotated[str | None, typer.Option(
        "--engine", help="Score with an engine, Parquet in and out: local (streams record "
                         "batches) or spark (PySpark). Checks each row's required inputs, not "
                         "the full schema; no --comparables. Default: no engine (any file, "
                         "fully validated, in memory).")] = None,
    scorer: Annotated[str | None, typer.Option(
        "--scorer", help="With --engine spark: homeprice (default; prediction and interval) "
                         "or mlflow (MLflow's spark_udf, the MLflow-native path: prediction "
                         "only, lower and upper empty).")] = None,
) -> None:
    """Predict every row of a file; adds prediction, lower, upper and model_version."""
    from homeprice.batch import predict_file
    from homeprice.datasets import get_dataset

    settings = load_settings()
    if engine is not None or scorer is not None:  # a scorer without the spark engine: refused
        from homeprice.batch import predict_with_engine

        result = predict_with_engine(get_dataset(dataset), settings, input, output, model,
                                     known_engine(settings, engine) if engine else "local",
                                     comparables=comparables, scorer=scorer)
        out.print(f"[green]predicted[/] {result.rows:,} rows with v{result.model_version} "
                  f"on the {engine} engine -> {result.output}", highlight=False)
        return
    result = predict_file(get_dataset(dataset), settings, input, output, model,
                          comparables=comparables)
    out.print(f"[green]predicted[/] {result.rows:,} rows with v{result.model_version} -> "
              f"{result.output}", highlight=False)
