"""What makes two homes comparable: the declaration each dataset makes for its comparables.

A dataset's folder declares its `Similarity` (`homeprice/datasets/<name>/similarity.py`):
where a home is (coordinates, compared by great-circle distance; or a locality, compared by
exact match, with an optional finer level such as the society) and a few measures of the
home itself (size, rooms, age, income...) with weights. `homeprice.comparables` fits an index
of the training homes under it; the declaration travels inside that index, so a registered
model compares homes the way it did when it was trained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from homeprice.features import Columns, is_missing

MeasureValues = Callable[[Columns], dict[str, np.ndarray]]
"""Raw values of every measure, one array per measure name, for rows of model inputs."""
LevelKeys = Callable[[Columns], np.ndarray]
"""Matching keys of a locality level (folded text; "" where the value is missing)."""


@dataclass(frozen=True)
class Measure:
    """One property of a home that comparable homes should share."""

    name: str
    weight: float = 1.0
    """How much a difference of one spread counts (relative to the other measures)."""
    log: bool = False
    """Compare ratios rather than differences (sizes, incomes: 10% apart is 10% apart)."""
    label: str = ""
    """How people read it (the response's "differs most" list); default: the name."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a measure needs a name")
        if not (np.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"measure {self.name!r}: weight must be positive, got "
                             f"{self.weight}")


@dataclass(frozen=True)
class Similarity:
    """How a dataset's homes are compared (exactly one of `coordinates` and `locality`)."""

    measures: tuple[Measure, ...]
    values: MeasureValues
    """Module-level function (it is pickled by reference inside the model)."""
    coordinates: tuple[str, str] | None = None
    """(latitude, longitude) input columns, in degrees."""
    km_per_unit: float = 1.0
    """How many km apart count as much as one spread of a (unit-weight) measure."""
    locality: LevelKeys | None = None
    """Keys of the locality: homes of the same locality come first."""
    sub_locality: LevelKeys | None = None
    """Keys of a finer level inside the locality (a society, a building)."""
    sub_locality_penalty: float = 1.0
    """Spreads a different (or unknown) finer level costs inside one locality."""
    other_locality_penalty: float = 3.0
    """Spreads a home of another locality costs (it comes only after the locality's own)."""
    describe: tuple[str, ...] = field(default=())
    """Input columns shown with each comparable (besides its price and measures)."""

    def __post_init__(self) -> None:
        if (self.coordinates is None) == (self.locality is None):
            raise ValueError("a similarity needs exactly one of coordinates and locality")
        if not self.measures:
            raise ValueError("a similarity needs at least one measure")
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError(f"measure names must be unique, got {names}")
        if not (np.isfinite(self.km_per_unit) and self.km_per_unit > 0):
            raise ValueError(f"km_per_unit must be positive, got {self.km_per_unit}")
        if self.sub_locality_penalty < 0 or self.other_locality_penalty < 0:
            raise ValueError("locality penalties must not be negative")

    @property
    def names(self) -> list[str]:
        """The measures' names, in order."""
        return [m.name for m in self.measures]


def folded_keys(values: np.ndarray) -> np.ndarray:
    """Texts as matching keys: whitespace collapsed, case folded; missing -> ""."""
    out = []
    for value in values:
        if is_missing(value):
            out.append("")
        else:
            out.append(" ".join(str(value).split()).casefold())
    return np.asarray(out, dtype=object)
