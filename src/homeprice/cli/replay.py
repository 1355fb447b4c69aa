"""`homeprice replay`: a model scored offline on logged, labelled requests (as `ab evaluate`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption
from homeprice.cli.render import out, render_decision_table
from homeprice.config import load_settings

app = typer.Typer()


@app.command("replay")
def replay_command(
    dataset: DatasetOption,
    model: Annotated[str, typer.Option("--model", "-m", help="The model to replay: an alias "
                                       "(challenger) or a version number.")] = "challenger",
    since: Annotated[str, typer.Option(help="Requests logged in this recent window, e.g. 7d, "
                                       "24h or 2w (archived ones included).")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score a model on logged, labelled past requests: the same table and decision as
    `ab evaluate`, as offline evidence (no alias moves)."""
    from homeprice.monitoring.replay import NOTE, replay

    result = replay(dataset, load_settings(), model, since)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    decision = result.decision
    render_decision_table(decision, f"{result.dataset}: replay of v{result.model_version} on "
                          f"labelled requests of the last {result.window} (paired; 95% "
                          "anytime-valid CS)")
    colour = {"promote": "green", "rollback": "red"}.get(decision.action, "yellow")
    out.print(f"decision: [{colour}]{decision.action}[/]: {decision.reason}", highlight=False)
    out.print(NOTE, highlight=False)
