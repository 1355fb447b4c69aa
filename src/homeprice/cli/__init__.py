"""The `homeprice` command line: thin commands that parse, call one function and render.

The root app gathers one module per command group (`homeprice data ...`) or family of
top-level commands; its group class reports errors for all of them (see `cli.errors`).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from homeprice.cli import (
    ab,
    data,
    log,
    models,
    monitor,
    pipeline,
    predict,
    replay,
    reproduce,
    scrape,
    serve,
    stack,
)
from homeprice.cli.errors import ReportingGroup

app = typer.Typer(cls=ReportingGroup, help="homeprice: house-price models from raw data to "
                  "production.", no_args_is_help=True, pretty_exceptions_enable=False)

# Top-level commands first, then the groups: the order `homeprice --help` lists them in.
app.add_typer(reproduce.app)
app.add_typer(predict.app)
app.add_typer(serve.app)
app.add_typer(replay.app)
app.add_typer(stack.app)
app.add_typer(scrape.app)
app.add_typer(data.app, name="data")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(models.app, name="models")
app.add_typer(ab.app, name="ab")
app.add_typer(monitor.app, name="monitor")
app.add_typer(log.app, name="log")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False
          ) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point of the `homeprice` script."""
    app()


__all__ = ["app", "main"]
