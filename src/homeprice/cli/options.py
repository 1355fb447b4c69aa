"""Options several commands share, and the checks of their values."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from homeprice.datasets import dataset_names
from homeprice.errors import UserInputError

# The names come from the one list of datasets; listing reads only the plug-ins' manifests
# (no pandas or pandera), so --help stays fast. An unknown name is answered with the list of
# known ones (datasets.get_dataset).
DATASET_HELP = f"Dataset: {', '.join(dataset_names())}."
DatasetOption = Annotated[str, typer.Option("--dataset", "-d", help=DATASET_HELP)]
DatasetsOption = Annotated[str, typer.Option(
    "--dataset", "-d", help=f"Dataset: {', '.join(dataset_names())}, or all.")]


EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="Data engine: local (pandas) or spark (PySpark; needs the spark extra "
                     "and Java). Default: the data_engine setting.")]


def known_engine(settings: Any, engine: str | None) -> str:
    """`engine`, or the data_engine setting, when it names a known engine."""
    from homeprice.engines.base import ENGINES

    chosen = engine or settings.data_engine
    if chosen not in ENGINES:
        raise UserInputError(f"unknown engine {chosen!r} (known: {', '.join(ENGINES)})")
    return chosen


def known_budget(settings: Any, budget: str) -> str:
    """`budget`, when it names one of the configured tuning budgets."""
    if budget not in settings.training.budgets:
        raise UserInputError(f"unknown budget {budget!r} "
                             f"(known: {', '.join(settings.training.budgets)})")
    return budget
