"""`homeprice ab`: champion/challenger decisions from the live errors of labelled predictions."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption
from homeprice.cli.render import out, render_decision_table
from homeprice.config import load_settings

app = typer.Typer(help="Champion/challenger decisions from live errors.", no_args_is_help=True)


@app.command("evaluate")
def ab_evaluate(
    dataset: DatasetOption,
    window: Annotated[str | None, typer.Option(help="Only labels from this recent window, "
                                               "e.g. 24h (default: since the pair started).")
                      ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Move the aliases and notify.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Live MAE/RMSE/MAPE/coverage per variant and an anytime-valid promote/retire/rollback/keep."""
    from homeprice.datasets import get_dataset
    from homeprice.monitoring.live import evaluate_live, parse_window

    decision = evaluate_live(get_dataset(dataset).name, load_settings(), parse_window(window),
                             apply)
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2, default=str))
        return
    render_decision_table(decision, f"{dataset}: live errors ({decision.mode} mode; 95% "
                          "anytime-valid CS)")
    colour = {"promote": "green", "rollback": "red", "retire": "red"}.get(decision.action, "yellow")
    applied = " (applied)" if decision.details.get("applied") else (
        "" if decision.action == "keep" else " (not applied: add --apply)")
    out.print(f"decision: [{colour}]{decision.action}[/]{applied}: {decision.reason}",
              highlight=False)
