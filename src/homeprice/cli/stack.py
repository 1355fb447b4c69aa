"""`homeprice up` / `homeprice down`: the whole stack as background processes on one machine."""

from __future__ import annotations

from typing import Annotated

import typer

from homeprice.cli.render import out
from homeprice.config import load_settings

app = typer.Typer()

GraceOption = Annotated[float, typer.Option(
    min=0, help="Seconds a process gets to exit after SIGTERM before SIGKILL.")]


@app.command("up")
def up(
    with_airflow: Annotated[bool, typer.Option(
        "--with-airflow", help="Also run Airflow 3 standalone with the homeprice DAGs.")
    ] = False,
    host: Annotated[str, typer.Option(help="Interface every service listens on.")
                    ] = "127.0.0.1",
    datasets: Annotated[list[str] | None, typer.Option(
        "--datasets", help="Datasets the API serves (repeat; default from config).")] = None,
    timeout: Annotated[float, typer.Option(
        min=1, help="Seconds every service gets to answer before `up` gives up.")] = 120.0,
    grace: GraceOption = 30.0,
) -> None:
    """Start the API, web UI and MLflow UI (and Airflow) in the background on free ports."""
    from homeprice.datasets import get_dataset
    from homeprice.stack import up as start_stack

    names = [get_dataset(name).name for name in datasets or []] or None
    report = start_stack(load_settings(), host=host, with_airflow=with_airflow,
                         datasets=names, timeout=timeout, grace=grace)
    if report.already_up:
        out.print(f"the stack of {report.home} is already up (since "
                  f"{report.state.started_at}):", highlight=False)
    else:
        out.print(f"the stack of {report.home} is up:", highlight=False)
    for service in report.state.services:
        answered = report.answered_after.get(service.name)
        after = f"answered after {answered:.0f} s, " if answered is not None else ""
        out.print(f"  {service.title:<10} {service.url}   ({after}pid {service.pid}, log "
                  f"{service.log})", highlight=False)
    tokens = report.tokens
    if tokens is not None:
        for name in tokens.generated:
            # Shown this once; afterwards only in the 0600 file (never in a log).
            out.print(f"  {name}={tokens.values[name]}", highlight=False)
        if tokens.generated:
            out.print(f"  tokens generated and saved in {tokens.path} (mode 0600; shown only "
                      "now)", highlight=False)
        elif len(tokens.from_environment) < len(tokens.values):
            out.print(f"  tokens: in {tokens.path}", highlight=False)
        for name in tokens.from_environment:
            out.print(f"  {name}: from the environment", highlight=False)
    for note in report.notes:
        out.print(f"  {note}", highlight=False)
    out.print("stop it with: homeprice down", highlight=False)


@app.command("down")
def down(grace: GraceOption = 30.0) -> None:
    """Stop every process `homeprice up` started for this home, and nothing else."""
    from homeprice.stack import down as stop_stack

    state, stopped = stop_stack(load_settings(), grace=grace)
    if state is None:
        out.print("the stack is not up (nothing recorded for this home)", highlight=False)
        return
    names = ", ".join(service.name for service in state.services)
    out.print(f"stopped {names} ({len(stopped)} process(es))", highlight=False)
