"""Feature transformers used inside every model pipeline (so serving computes them identically).

Each dataset plug-in has its own (`homeprice/datasets/<name>/features.py`); this module holds
what they share and `feature_builder`, which asks the dataset for a fresh one.

Each follows the scikit-learn estimator contract: `__init__` only stores parameters, `fit`
learns state ending in `_`, `transform` applies it. Inputs are the parsed model inputs of a
dataset (`Dataset.feature_columns`); outputs are float matrices with named columns.

`transform` takes a DataFrame or any mapping of column name -> 1-D values and uses numpy only,
so the serving fast path calls the very same code on validated requests without pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from homeprice.datasets import get_dataset

Columns = Union[pd.DataFrame, Mapping[str, Any]]
"""A DataFrame, or a mapping of column name -> 1-D values (the serving fast path)."""


def floats(X: Columns, name: str) -> np.ndarray:
    """A column as floats (None -> NaN)."""
    return np.asarray(X[name], dtype=float)


def objects(X: Columns, name: str) -> np.ndarray:
    """A column as Python objects."""
    return np.asarray(X[name], dtype=object)


def is_missing(value: object) -> bool:
    """Whether a single value is missing (None, pd.NA or NaN)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def feature_builder(dataset: str, random_state: int = 42) -> BaseEstimator:
    """A fresh, unfitted feature builder for a dataset."""
    return get_dataset(dataset).feature_builder(random_state=random_state)
