"""`homeprice monitor`: drift of logged requests against the training data, and retraining."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from homeprice.cli.options import DatasetOption, known_budget
from homeprice.cli.render import err, out, render_training
from homeprice.config import load_settings

app = typer.Typer(help="Drift monitoring of live requests.", no_args_is_help=True)


@app.command("drift")
def monitor_drift(
    dataset: DatasetOption,
    window: Annotated[str | None, typer.Option(help="Requests of this recent window, e.g. 24h "
                                               "(default: all logged).")] = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Run the pipeline when drift "
                                          "passes the threshold.")] = False,
    budget: Annotated[str | None, typer.Option(help="Tuning budget of --retrain: fast, default "
                                               "or thorough (default: "
                                               "monitoring.retrain_budget).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare logged requests with the training reference (Evidently); alert on drift."""
    from homeprice.datasets import get_dataset
    from homeprice.monitoring.drift import check_drift
    from homeprice.monitoring.live import parse_window

    settings = load_settings()
    name = get_dataset(dataset).name
    # Checked before the drift check: a typo must not cost a drift report and then fail.
    retrain_budget = known_budget(settings, budget or settings.monitoring.retrain_budget)
    result = check_drift(name, settings, parse_window(window))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(title=f"{dataset}: drift of {result.rows_current:,} requests vs "
                            f"{result.rows_reference:,} training rows (champion "
                            f"v{result.model_version})")
        for column in ("column", "method", "score", "threshold", "drifted"):
            table.add_column(column)
        for column, score in result.column_scores.items():
            table.add_row(column, score["method"], f"{score['score']:.4g}",
                          f"{score['threshold']:g}", "yes" if score["drifted"] else "")
        out.print(table)
        sampled = (f" (sampled from {result.sampled_from:,})" if result.sampled_from else "")
        colour = "red" if result.alert else "green"
        out.print(f"drift share [{colour}]{result.drift_share:.0%}[/] (alert at "
                  f"{result.threshold:.0%}){sampled}; report {result.html}", highlight=False)
    if result.alert and retrain:
        from homeprice.pipeline import run_pipeline

        # With --json, stdout stays one JSON document: progress and tables go to stderr.
        console = err if as_json else out
        console.print(f"drift above the threshold: retraining {name} ({retrain_budget} budget)",
                      highlight=False)
        render_training(run_pipeline(name, settings, retrain_budget), console)


@app.command("comparables")
def monitor_comparables(
    dataset: DatasetOption,
    since: Annotated[str, typer.Option(help="Labelled requests of this recent window, e.g. "
                                            "7d.")] = "7d",
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Comps per home.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """On labelled traffic: how often the true price is inside the comps' range, and the
    comps' estimate error beside the served model's."""
    from homeprice.monitoring.comparables import live_comparables

    result = live_comparables(dataset, load_settings(), since, k=k)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"{result.dataset}: {result.rows:,} labelled requests since "
                        f"{result.since}; comps (k={result.k}) of champion "
                        f"v{result.comps_version}, model v{', v'.join(result.served_versions)}")
    for column in ("estimate", "RMSE", "MAE", "MAPE"):
        table.add_column(column)
    for label, metrics in (("served model", result.model), ("comps", result.comps)):
        table.add_row(label, f"{metrics['rmse']:,.4g}", f"{metrics['mae']:,.4g}",
                      f"{metrics['mape']:.1%}")
    out.print(table)
    out.print(f"true price inside the comps' range: {result.comps['range_coverage']:.1%}; "
              f"served price inside it: {result.comps['model_in_range']:.1%}", highlight=False)
