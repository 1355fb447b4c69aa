"""Scraped listings' feature transformer: sizes and ratios, floor position, the portal's
categories, and a leak-free locality encoding.

It follows the scikit-learn estimator contract and runs inside every magicbricks model
pipeline (see homeprice.features for the shared conventions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

from homeprice.datasets.magicbricks.parsing import FURNISHING, PROPERTY_TYPES, TRANSACTIONS
from homeprice.features import Columns, floats, is_missing, objects

# Carpet area excludes walls and common areas: about 75-80% of the super (built-up) area that
# portals also quote. Areas are put on one footing (carpet) before they are compared.
CARPET_PER_SUPER = 0.78


def _slug(text: str) -> str:
    return text.lower().replace(" ", "_").replace("-", "_")


class MagicbricksFeatures(TransformerMixin, BaseEstimator):
    """Listing features: sizes and ratios, floor position, categories, locality encoding.

    `locality` is target-encoded with scikit-learn's TargetEncoder on the log price per
    square foot: `fit_transform` (what a Pipeline calls while training) cross-fits, so a
    listing's own price never feeds its encoding; `transform` (serving) uses encodings learned
    on the whole training split. Localities seen fewer than `min_count` times are one "rare"
    level; matching folds case and whitespace.
    """

    def __init__(self, min_count: int = 3, random_state: int = 42) -> None:
        self.min_count = min_count
        self.random_state = random_state

    _IMPUTED = ("bathrooms", "balconies", "ready_to_move", "floor", "total_floors")

    @staticmethod
    def _keys(X: Columns) -> list[str]:
        """Localities as matching keys (case and whitespace folded; missing is a level)."""
        return [
            "__missing__" if is_missing(v) else " ".join(str(v).split()).casefold()
            for v in objects(X, "locality")
        ]

    def _levels(self, X: Columns) -> np.ndarray:
        """Locality keys with rare and unseen ones grouped, as the encoder's one column."""
        levels = [k if k in self.frequent_ else "__rare__" for k in self._keys(X)]
        return np.array(levels, dtype=object).reshape(-1, 1)

    def _carpet_sqft(self, X: Columns) -> np.ndarray:
        area = floats(X, "area_sqft")
        kinds = objects(X, "area_kind")
        return np.where(kinds == "super", area * CARPET_PER_SUPER, area)

    def fit(self, X: pd.DataFrame, y: object) -> MagicbricksFeatures:
        """Learn imputation medians, frequent localities and their encodings."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, **_: object) -> np.ndarray:
        """Fit, and return cross-fitted encodings for the training rows (no target leakage)."""
        if y is None:
            raise ValueError("MagicbricksFeatures needs the target to learn its encodings")
        self.medians_ = {}
        for column in self._IMPUTED:
            values = floats(X, column)
            self.medians_[column] = (
                float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
            )
        counts = pd.Series(self._keys(X)).value_counts()
        self.frequent_ = set(counts[counts >= self.min_count].index)
        self.locality_counts_ = counts.to_dict()
        self.encoder_ = TargetEncoder(
            target_type="continuous", cv=KFold(5, shuffle=True, random_state=self.random_state)
        )
        target = np.log(np.asarray(y, dtype=float) / self._carpet_sqft(X))
        encoded = self.encoder_.fit_transform(self._levels(X), target)
        self.encoding_ = dict(
            zip(
                self.encoder_.categories_[0].tolist(),
                self.encoder_.encodings_[0].tolist(),
                strict=True,
            )
        )
        self.feature_names_ = self._names()
        return self._assemble(X, encoded[:, 0])

    def transform(self, X: Columns) -> np.ndarray:
        """Feature matrix, one row per listing."""
        check_is_fitted(self, "encoding_")
        return self.transform_columns(X)

    def transform_columns(self, X: Columns) -> np.ndarray:
        """`transform` without scikit-learn's per-call wrappers (the serving fast path)."""
        default = float(self.encoder_.target_mean_)
        encoded = np.array(
            [self.encoding_.get(level, default) for level in self._levels(X)[:, 0]], dtype=float
        )
        return self._assemble(X, encoded)

    def _names(self) -> list[str]:
        return (
            [
                "bedrooms",
                "carpet_sqft",
                "log_carpet_sqft",
                "sqft_per_bedroom",
                "bathrooms",
                "baths_per_bedroom",
                "balconies",
                "ready_to_move",
                "floor",
                "total_floors",
                "floor_share",
                "area_was_super",
                "locality_listings",
            ]
            + [f"furnishing_{_slug(c)}" for c in FURNISHING]
            + [f"transaction_{_slug(c)}" for c in TRANSACTIONS]
            + [f"type_{_slug(c)}" for c in PROPERTY_TYPES]
            + ["locality_te", "locality_te_x_log_sqft"]
        )

    def _assemble(self, X: Columns, encoded: np.ndarray) -> np.ndarray:
        values = {}
        for column in self._IMPUTED:
            raw = floats(X, column)
            values[column] = np.where(np.isnan(raw), self.medians_[column], raw)
        bedrooms = floats(X, "bedrooms")
        carpet = self._carpet_sqft(X)
        log_sqft = np.log(carpet)
        floors = np.maximum(values["total_floors"], 1.0)
        counts = np.array([self.locality_counts_.get(key, 0) for key in self._keys(X)], dtype=float)
        columns = [
            bedrooms,
            carpet,
            log_sqft,
            carpet / bedrooms,
            values["bathrooms"],
            values["bathrooms"] / bedrooms,
            values["balconies"],
            values["ready_to_move"],
            values["floor"],
            values["total_floors"],
            np.clip(values["floor"] / floors, -1.0, 1.0),
            (objects(X, "area_kind") == "super").astype(float),
            np.log1p(counts),
        ]
        for column, choices in (
            ("furnishing", FURNISHING),
            ("transaction", TRANSACTIONS),
            ("property_type", PROPERTY_TYPES),
        ):
            present = objects(X, column)
            columns += [(present == choice).astype(float) for choice in choices]
        columns += [encoded, encoded + log_sqft]
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def feature_sources(self) -> dict[str, list[str]]:
        """Model feature -> the input fields it is computed from (to explain per field)."""
        area = ["area_sqft", "area_kind"]
        known = {
            "bedrooms": ["bedrooms"],
            "carpet_sqft": area,
            "log_carpet_sqft": area,
            "sqft_per_bedroom": [*area, "bedrooms"],
            "bathrooms": ["bathrooms"],
            "baths_per_bedroom": ["bathrooms", "bedrooms"],
            "balconies": ["balconies"],
            "ready_to_move": ["ready_to_move"],
            "floor": ["floor"],
            "total_floors": ["total_floors"],
            "floor_share": ["floor", "total_floors"],
            "area_was_super": ["area_kind"],
            "locality_listings": ["locality"],
            "locality_te": ["locality"],
            "locality_te_x_log_sqft": ["locality", *area],
        }
        sources = {}
        for name in self.get_feature_names_out():
            prefix = name.split("_", 1)[0]
            sources[name] = known.get(name) or [
                {"furnishing": "furnishing", "transaction": "transaction", "type": "property_type"}[
                    prefix
                ]
            ]
        return sources
