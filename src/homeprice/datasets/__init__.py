"""The datasets homeprice knows: one plug-in package each (`homeprice/datasets/<name>/`).

`DATASETS` is a live view of the one list of datasets (see `catalogue`): iterating it lists
names cheaply, looking one up loads that dataset. The base types (`Dataset`, `CleanResult`,
`SourceSpec`) import pandas, so they load on first use rather than with this package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from homeprice.datasets.catalogue import dataset_names, plugins, register_plugins
from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from homeprice.datasets.base import CleanResult, Dataset, SourceSpec


class _Datasets(Mapping[str, "Dataset"]):
    """Dataset name -> dataset, following the catalogue (plug-ins may be added at run time)."""

    def __getitem__(self, name: str) -> Dataset:
        return plugins()[name].load()

    def __iter__(self) -> Iterator[str]:
        return iter(plugins())

    def __len__(self) -> int:
        return len(plugins())

    def __repr__(self) -> str:
        return f"DATASETS({', '.join(self)})"


DATASETS: Mapping[str, Dataset] = _Datasets()


def get_dataset(name: str) -> Dataset:
    """The dataset called `name`, or a usage error listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise UserInputError(f"unknown dataset {name!r} (known: {known})") from None


_BASE_TYPES = ("CleanResult", "Dataset", "SourceSpec")


def __getattr__(name: str) -> Any:
    # The base types import pandas and pandera: loaded when first asked for.
    if name in _BASE_TYPES:
        from homeprice.datasets import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DATASETS", "CleanResult", "Dataset", "SourceSpec", "dataset_names", "get_dataset",
           "register_plugins"]
