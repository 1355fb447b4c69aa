"""Every dataset's feature builder follows the scikit-learn contract and gives the same
features from a DataFrame and from plain column lists (the serving fast path)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from homeprice.datasets import DATASETS, get_dataset
from homeprice.features import feature_builder


@pytest.mark.parametrize("name", list(DATASETS))
def test_contract(clean_data, name: str) -> None:
    X, y = clean_data[name]
    builder = get_dataset(name).feature_builder()
    assert not [k for k in vars(builder) if k.endswith("_")], "nothing learned in __init__"
    fitted = clone(builder).fit(X, y)
    Z = fitted.transform(X)
    assert Z.shape == (len(X), len(fitted.get_feature_names_out()))
    assert np.isfinite(Z).all()
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(X.head(10)), fitted.transform(X.head(10)))


@pytest.mark.parametrize("name", list(DATASETS))
def test_mapping_input_gives_the_same_features(clean_data, name: str) -> None:
    """The serving fast path passes plain column lists; features must not change."""
    X, y = clean_data[name]
    builder = get_dataset(name).feature_builder().fit(X, y)
    head = X.head(25)
    mapping = {c: head[c].tolist() for c in head.columns}
    np.testing.assert_array_equal(builder.transform(mapping), builder.transform(head))


@pytest.mark.parametrize("name", list(DATASETS))
def test_feature_builder_asks_the_dataset(name: str) -> None:
    built = feature_builder(name, random_state=7)
    assert type(built) is type(get_dataset(name).feature_builder())
    assert built.get_params()["random_state"] == 7
