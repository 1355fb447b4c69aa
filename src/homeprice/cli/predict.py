"""`homeprice predict`: batch predictions for every row of a file."""

from __future__ import annotations

from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption
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
) -> None:
    """Predict every row of a file; adds prediction, lower, upper and model_version."""
    from homeprice.batch import predict_file
    from homeprice.datasets import get_dataset

    result = predict_file(get_dataset(dataset), load_settings(), input, output, model)
    out.print(f"[green]predicted[/] {result.rows:,} rows with v{result.model_version} -> "
              f"{result.output}", highlight=False)
