"""The comparables index of a training run: fitted on the rows the served model is fitted on,
attached to every candidate's pipeline, and scored on the test split.

Which rows: with `interval_calibration: cross` the served model is fitted on the train and
calibration rows, so its comparables come from those; with `split` it never sees the
calibration rows, and neither do its comparables. The test split is never indexed: its homes
are the ones the comps are scored on. Ids name each home's place in the stored split
(`train:<row>`, `calibration:<row>`), so a comparable can be looked up in the lake.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from homeprice.comparables import (
    COMPARABLES_ATTRIBUTE,
    ComparablesIndex,
    comparables_metrics,
)
from homeprice.data.splitting import Split
from homeprice.datasets import Dataset
from homeprice.training.fitting import Calibration

# The comps the test split is scored with: the API's default count.
EVALUATION_K = 5


def indexed_rows(split: Split, how: Calibration) -> tuple[pd.DataFrame, list[str]]:
    """The rows the served model is fitted on (never test rows), with their ids."""
    parts = [("train", split.train)] + ([("calibration", split.calibration)]
                                        if how == "cross" else [])
    frames = [frame for _, frame in parts]
    ids = [f"{name}:{row}" for name, frame in parts for row in range(len(frame))]
    return pd.concat(frames, ignore_index=True), ids


def fit_index(dataset: Dataset, split: Split, how: Calibration) -> ComparablesIndex | None:
    """The run's comparables index (None when the dataset declares no similarity)."""
    similarity = dataset.similarity()
    if similarity is None:
        return None
    rows, ids = indexed_rows(split, how)
    return ComparablesIndex(similarity, dataset.feature_columns).fit(
        rows, rows[dataset.target].to_numpy(dtype=float), ids)


def attach(model: Any, index: ComparablesIndex | None) -> Any:
    """Store the index inside the model pipeline (it is logged and registered with it)."""
    if index is not None:
        setattr(model, COMPARABLES_ATTRIBUTE, index)
    return model


def score_on_test(index: ComparablesIndex, dataset: Dataset, test: pd.DataFrame,
                 model_price: np.ndarray) -> dict[str, float]:
    """The comps' estimate error and range coverage on the test split, beside the model's."""
    X = test[list(dataset.feature_columns)]
    k = min(EVALUATION_K, index.max_k)
    estimate = index.estimate(index.query(X, k))
    return comparables_metrics(test[dataset.target].to_numpy(dtype=float), estimate,
                               model_price=model_price)
