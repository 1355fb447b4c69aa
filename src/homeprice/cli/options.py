"""Options several commands share, and the checks of their values."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from homeprice.errors import UserInputError

# The help does not list the dataset names: they live in homeprice.datasets, whose import
# (pandas, pandera) would triple the start-up time of every command, --help included. An
# unknown name is answered with the list of known ones (datasets.get_dataset).
DatasetOption = Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")]


def known_budget(settings: Any, budget: str) -> str:
    """`budget`, when it names one of the configured tuning budgets."""
    if budget not in settings.training.budgets:
        raise UserInputError(f"unknown budget {budget!r} "
                             f"(known: {', '.join(settings.training.budgets)})")
    return budget
