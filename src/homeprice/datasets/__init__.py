"""The datasets homeprice knows, one module each."""

from __future__ import annotations

from homeprice.datasets.base import CleanResult, Dataset, SourceSpec
from homeprice.datasets.bengaluru import Bengaluru
from homeprice.datasets.california import California
from homeprice.errors import UserInputError

DATASETS: dict[str, Dataset] = {d.name: d for d in (California(), Bengaluru())}


def get_dataset(name: str) -> Dataset:
    """The dataset called `name`, or a usage error listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise UserInputError(f"unknown dataset {name!r} (known: {known})") from None


__all__ = ["DATASETS", "CleanResult", "Dataset", "SourceSpec", "get_dataset"]
