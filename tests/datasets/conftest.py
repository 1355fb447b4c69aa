"""Fixtures of the dataset tests: each known dataset's cleaned real data, once per module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.datasets import DATASETS, get_dataset


@pytest.fixture(scope="module")
def cleaned(real_data_dir: Path) -> dict[str, pd.DataFrame]:
    """Dataset name -> its first 3000 cleaned rows (every column cleaning keeps)."""
    out = {}
    for name in DATASETS:
        dataset = get_dataset(name)
        raw = read_table(real_data_dir / name / dataset.source.filename)
        out[name] = dataset.clean(raw, Settings()).data.head(3000)
    return out


@pytest.fixture(scope="module")
def clean_data(cleaned: dict[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """Dataset name -> (model inputs, target) of its first 3000 cleaned rows."""
    out = {}
    for name, data in cleaned.items():
        dataset = get_dataset(name)
        out[name] = (data[list(dataset.feature_columns)], data[dataset.target])
    return out
