"""Bengaluru's feature builder: leak-free target encodings, odd locations, needs the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homeprice.datasets.bengaluru.features import BengaluruFeatures


def test_target_encoding_is_cross_fitted(clean_data) -> None:
    """While training, a listing's own price must not feed its location encoding."""
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures()
    during_fit = builder.fit_transform(X, y)
    after_fit = builder.transform(X)
    column = list(builder.get_feature_names_out()).index("location_te")
    assert not np.allclose(during_fit[:, column], after_fit[:, column])


def test_unseen_and_missing_locations_are_handled(clean_data) -> None:
    X, y = clean_data["bengaluru"]
    fitted = BengaluruFeatures().fit(X, y)
    odd = X.head(2).assign(location=["Nowhere Layout 99", None], society=[None, "Brand New"])
    assert np.isfinite(fitted.transform(odd)).all()


def test_bengaluru_needs_the_target() -> None:
    with pytest.raises(ValueError, match="needs the target"):
        BengaluruFeatures().fit_transform(pd.DataFrame({"location": ["a"]}))


def test_lookup_encodings_match_the_target_encoder(clean_data) -> None:
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    names = list(builder.get_feature_names_out())
    ours = builder.transform(X)[:, [names.index("location_te"), names.index("society_te")]]
    theirs = builder.encoder_.transform(builder._levels(X))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
