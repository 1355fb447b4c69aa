"""The deterministic train / calibration / test split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from homeprice.config import SplitSettings
from homeprice.data.splitting import split_dataset
from homeprice.datasets import get_dataset


@pytest.fixture
def california_like() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame({"median_income": rng.gamma(2.0, 2.0, n), "row_id": np.arange(n)})


def test_split_is_deterministic_disjoint_and_complete(california_like: pd.DataFrame) -> None:
    settings = SplitSettings(seed=3)
    first = split_dataset(california_like, get_dataset("california"), settings)
    second = split_dataset(california_like, get_dataset("california"), settings)
    for a, b in zip((first.train, first.calibration, first.test),
                    (second.train, second.calibration, second.test), strict=True):
        pd.testing.assert_frame_equal(a, b)
    ids = [set(part.row_id) for part in (first.train, first.calibration, first.test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(range(len(california_like)))
    assert first.sizes() == {"train": 1400, "calibration": 200, "test": 400}


def test_other_seed_gives_other_split(california_like: pd.DataFrame) -> None:
    a = split_dataset(california_like, get_dataset("california"), SplitSettings(seed=1))
    b = split_dataset(california_like, get_dataset("california"), SplitSettings(seed=2))
    assert set(a.test.row_id) != set(b.test.row_id)


def test_california_is_stratified_by_income_band(california_like: pd.DataFrame) -> None:
    dataset = get_dataset("california")
    split = split_dataset(california_like, dataset, SplitSettings())
    overall = dataset.stratify_labels(california_like).value_counts(normalize=True)
    in_test = dataset.stratify_labels(split.test).value_counts(normalize=True)
    assert (overall - in_test).abs().max() < 0.005


def test_fractions_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="sum to 1"):
        SplitSettings(train=0.8, calibration=0.1, test=0.2)
