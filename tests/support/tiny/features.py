"""The tiny dataset's feature builder: the inputs as they are, plus area per room."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from homeprice.features import Columns, floats

INPUTS = ("area", "rooms", "age")


class TinyFeatures(TransformerMixin, BaseEstimator):
    """area, rooms, age (missing: the training median) and area per room."""

    def __init__(self, random_state: int = 42) -> None:
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object = None) -> TinyFeatures:
        """Learn the median age (imputation)."""
        self.age_median_ = float(np.nanmedian(floats(X, "age")))
        return self

    def transform(self, X: Columns) -> np.ndarray:
        """Feature matrix, one row per home."""
        check_is_fitted(self, "age_median_")
        return self.transform_columns(X)

    def transform_columns(self, X: Columns) -> np.ndarray:
        """`transform` without scikit-learn's wrappers (the serving fast path)."""
        area, rooms, age = (floats(X, c) for c in INPUTS)
        age = np.where(np.isnan(age), self.age_median_, age)
        return np.column_stack([area, rooms, age, area / np.maximum(rooms, 1.0)])

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the output columns."""
        return np.asarray([*INPUTS, "area_per_room"], dtype=object)

    def feature_sources(self) -> dict[str, list[str]]:
        """Model feature -> the input fields it is computed from (to explain per field)."""
        return {"area": ["area"], "rooms": ["rooms"], "age": ["age"],
                "area_per_room": ["area", "rooms"]}
