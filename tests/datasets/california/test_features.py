"""California's feature builder: bedrooms imputed with the training median."""

from __future__ import annotations

import numpy as np
import pytest

from homeprice.datasets.california.features import CaliforniaFeatures


def test_missing_bedrooms_are_imputed_with_train_median(clean_data) -> None:
    X, y = clean_data["california"]
    fitted = CaliforniaFeatures().fit(X, y)
    row = X.head(1).assign(total_bedrooms=np.nan)
    names = list(fitted.get_feature_names_out())
    Z = fitted.transform(row)
    assert Z[0, names.index("bedrooms_missing")] == 1.0
    assert Z[0, names.index("log_total_bedrooms")] == pytest.approx(
        np.log1p(X["total_bedrooms"].median()))
