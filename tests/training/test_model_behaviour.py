"""Model tests: does the trained model behave? (Made With ML's third tier.)"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.training.evaluation import point_metrics, predict_with_interval
from homeprice.training.runner import load_split


@pytest.fixture(params=["california", "bengaluru"])
def case(request: pytest.FixtureRequest, trained: Settings):
    dataset = get_dataset(request.param)
    tracking.configure(trained)
    model = registry.load_model(dataset.name, "champion")
    split, _ = load_split(dataset, trained)
    return dataset, model, split


def test_beats_dummy_and_linear_baselines(case) -> None:
    dataset, model, split = case
    features = list(dataset.feature_columns)
    y_test = split.test[dataset.target].to_numpy()
    ours = point_metrics(y_test, model.predict(split.test[features]))["rmse"]
    dummy = DummyRegressor().fit(split.train[features], split.train[dataset.target])
    dummy_rmse = point_metrics(y_test, dummy.predict(split.test[features]))["rmse"]
    numeric = split.train[features].select_dtypes("number").columns
    fill = split.train[numeric].median()
    linear = LinearRegression().fit(split.train[numeric].fillna(fill), split.train[dataset.target])
    linear_rmse = point_metrics(y_test, linear.predict(split.test[numeric].fillna(fill)))["rmse"]
    assert ours < 0.75 * dummy_rmse
    assert ours < 0.95 * linear_rmse


def test_interval_coverage_near_nominal(case) -> None:
    dataset, model, split = case
    y = split.test[dataset.target].to_numpy()
    _, lower, upper = predict_with_interval(model, split.test[list(dataset.feature_columns)])
    coverage = np.mean((y >= lower) & (y <= upper))
    assert 0.85 <= coverage <= 0.95


def test_invariant_to_column_order_and_extra_columns(case) -> None:
    dataset, model, split = case
    X = split.test[list(dataset.feature_columns)].head(50)
    shuffled = X[X.columns[::-1]].assign(listing_id=range(len(X)), note="x")
    np.testing.assert_allclose(model.predict(shuffled), model.predict(X), rtol=1e-12)


@pytest.mark.parametrize(("dataset_name", "column"), [("california", "median_income"),
                                                   ("bengaluru", "total_sqft")])
def test_more_of_the_main_driver_means_higher_price(trained: Settings, dataset_name: str,
                                                    column: str) -> None:
    """Directional: richer block groups, bigger listings cost more on average."""
    dataset = get_dataset(dataset_name)
    tracking.configure(trained)
    model = registry.load_model(dataset.name, "champion")
    split, _ = load_split(dataset, trained)
    X = split.test[list(dataset.feature_columns)].head(500)
    more = X.assign(**{column: X[column] * 1.5})
    assert model.predict(more).mean() > 1.1 * model.predict(X).mean()


def test_prediction_does_not_depend_on_batch(case) -> None:
    dataset, model, split = case
    X = split.test[list(dataset.feature_columns)].head(20)
    one_by_one = np.concatenate([model.predict(X.iloc[[i]]) for i in range(len(X))])
    np.testing.assert_allclose(one_by_one, model.predict(X), rtol=1e-9)
