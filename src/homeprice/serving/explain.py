"""Per-feature contributions that add up to a prediction, summed back to the request's fields.

- LightGBM: TreeSHAP contributions from the booster (`pred_contrib=True`).
- Linear (scaler + Ridge): coefficient x standardised value; the intercept is the base.
- scikit-learn trees and forests: Saabas path attribution (the change in node mean along
  each sample's decision path, averaged over trees), which also adds up exactly.
With a log-price model the contributions are additive in log price; they are rescaled
proportionally so that they add up to price - exp(base) in the target's own unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from lightgbm import LGBMRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor

from homeprice.errors import HomepriceError
from homeprice.serving.fastpath import FastPredictor


def _saabas(trees: list, Z: np.ndarray) -> tuple[np.ndarray, float]:
    """Path contributions of one row through fitted sklearn trees (averaged)."""
    contributions = np.zeros(Z.shape[1])
    base = 0.0
    for tree in trees:
        t = tree.tree_
        node = 0
        base += float(t.value[0].ravel()[0])
        while t.children_left[node] != -1:
            feature = t.feature[node]
            child = (t.children_left[node] if Z[0, feature] <= t.threshold[node]
                     else t.children_right[node])
            contributions[feature] += float(t.value[child].ravel()[0] - t.value[node].ravel()[0])
            node = child
    return contributions / len(trees), base / len(trees)


def raw_contributions(fast: FastPredictor, Z: np.ndarray) -> tuple[np.ndarray, float, str]:
    """(per-feature contributions, base value, method) in the estimator's own (raw) space."""
    estimator = fast.estimator
    if isinstance(estimator, LGBMRegressor):
        values = np.asarray(fast.booster.predict(Z, pred_contrib=True))[0]
        return values[:-1], float(values[-1]), "treeshap"
    if isinstance(estimator, Pipeline) and hasattr(estimator[-1], "coef_"):
        scaler, linear = estimator[0], estimator[-1]
        standardised = scaler.transform(Z)[0]
        return linear.coef_ * standardised, float(linear.intercept_), "linear"
    if isinstance(estimator, RandomForestRegressor):
        values, base = _saabas(list(estimator.estimators_), Z)
        return values, base, "saabas"
    if isinstance(estimator, DecisionTreeRegressor):
        values, base = _saabas([estimator], Z)
        return values, base, "saabas"
    raise HomepriceError(f"no explanation method for {type(estimator).__name__}")


def explain(fast: FastPredictor, columns: Mapping[str, list]) -> dict:
    """Contributions for one request: per model feature and per request field."""
    Z = fast.matrix(columns)
    raw, base, method = raw_contributions(fast, Z)
    price = float(fast.point(Z)[0])
    if fast.inverse is not None:
        base_price = float(fast.inverse(np.array([base]))[0])
        total = raw.sum()
        scale = (price - base_price) / total if abs(total) > 1e-12 else 0.0
        values, base = raw * scale, base_price
    else:
        values = raw
    names = list(fast.features.get_feature_names_out())
    per_feature = {name: float(v) for name, v in zip(names, values, strict=True)}
    per_field: dict[str, float] = {}
    for name, sources in fast.features.feature_sources().items():
        share = per_feature[name] / len(sources)
        for field in sources:
            per_field[field] = per_field.get(field, 0.0) + share
    ordered = sorted(per_field.items(), key=lambda item: abs(item[1]), reverse=True)
    return {"price": price, "base_value": float(base),
            "contributions": [{"field": f, "contribution": v} for f, v in ordered],
            "feature_contributions": per_feature, "method": method}
