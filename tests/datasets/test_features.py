"""Feature builders follow the scikit-learn contract and learn only from training data."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.datasets import get_dataset
from homeprice.features import BengaluruFeatures, CaliforniaFeatures

FILES = {"california": "california/housing.csv", "bengaluru": "bengaluru/Bengaluru_House_Data.csv"}


@pytest.fixture(scope="module")
def clean_data(real_data_dir):
    out = {}
    for name, path in FILES.items():
        dataset = get_dataset(name)
        data = dataset.clean(read_table(real_data_dir / path), Settings()).data.head(3000)
        out[name] = (data[list(dataset.feature_columns)], data[dataset.target])
    return out


@pytest.mark.parametrize("name", list(FILES))
def test_contract(clean_data, name: str) -> None:
    X, y = clean_data[name]
    builder = CaliforniaFeatures() if name == "california" else BengaluruFeatures()
    assert not [k for k in vars(builder) if k.endswith("_")], "nothing learned in __init__"
    fitted = clone(builder).fit(X, y)
    Z = fitted.transform(X)
    assert Z.shape == (len(X), len(fitted.get_feature_names_out()))
    assert np.isfinite(Z).all()
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(X.head(10)), fitted.transform(X.head(10)))


def test_missing_bedrooms_are_imputed_with_train_median(clean_data) -> None:
    X, y = clean_data["california"]
    fitted = CaliforniaFeatures().fit(X, y)
    row = X.head(1).assign(total_bedrooms=np.nan)
    names = list(fitted.get_feature_names_out())
    Z = fitted.transform(row)
    assert Z[0, names.index("bedrooms_missing")] == 1.0
    assert Z[0, names.index("log_total_bedrooms")] == pytest.approx(
        np.log1p(X["total_bedrooms"].median()))


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


@pytest.mark.parametrize("name", list(FILES))
def test_mapping_input_gives_the_same_features(clean_data, name: str) -> None:
    """The serving fast path passes plain column lists; features must not change."""
    X, y = clean_data[name]
    builder = (CaliforniaFeatures() if name == "california" else BengaluruFeatures()).fit(X, y)
    head = X.head(25)
    mapping = {c: head[c].tolist() for c in head.columns}
    np.testing.assert_array_equal(builder.transform(mapping), builder.transform(head))


def test_lookup_encodings_match_the_target_encoder(clean_data) -> None:
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    names = list(builder.get_feature_names_out())
    ours = builder.transform(X)[:, [names.index("location_te"), names.index("society_te")]]
    theirs = builder.encoder_.transform(builder._levels(X))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
