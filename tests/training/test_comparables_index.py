"""The comparables index of a run: fitted on the rows the served model is fitted on (never a
test row; no calibration row either with split calibration), stored inside the registered
model, and scored on the test split beside the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homeprice import registry, tracking
from homeprice.comparables import comparables_of
from homeprice.config import Settings
from homeprice.data.splitting import Split
from homeprice.datasets import get_dataset
from homeprice.training import comparables
from homeprice.training.runner import load_split


def _split() -> Split:
    def part(name: str, n: int) -> pd.DataFrame:
        return pd.DataFrame({"part": [name] * n, "row": range(n)})

    return Split(train=part("train", 6), calibration=part("calibration", 3), test=part("test", 4))


def test_cross_calibration_indexes_train_and_calibration_rows_never_test() -> None:
    rows, ids = comparables.indexed_rows(_split(), "cross")
    assert ids == [f"train:{i}" for i in range(6)] + [f"calibration:{i}" for i in range(3)]
    assert rows["part"].tolist() == ["train"] * 6 + ["calibration"] * 3
    assert rows["row"].tolist() == [*range(6), *range(3)]


def test_split_calibration_indexes_train_rows_only() -> None:
    rows, ids = comparables.indexed_rows(_split(), "split")
    assert ids == [f"train:{i}" for i in range(6)]
    assert set(rows["part"]) == {"train"}


@pytest.mark.parametrize("name", ["california", "bengaluru"])
def test_the_registered_model_holds_an_index_of_its_fitting_rows(trained: Settings, name: str
                                                                ) -> None:
    dataset = get_dataset(name)
    tracking.configure(trained)
    model = registry.load_model(name, "1")
    index = comparables_of(model)
    assert index is not None
    split, _ = load_split(dataset, trained)
    assert trained.training.interval_calibration == "cross"
    expected = pd.concat([split.train, split.calibration], ignore_index=True)
    assert index.size_ == len(expected)
    assert not any(i.startswith("test:") for i in index.ids_)
    assert {i.split(":")[0] for i in index.ids_} == {"train", "calibration"}
    np.testing.assert_array_equal(index.price_, expected[dataset.target].to_numpy(float))


@pytest.mark.parametrize("name", ["california", "bengaluru"])
def test_the_run_logs_the_comps_test_figures_beside_the_models(trained: Settings, name: str
                                                               ) -> None:
    client = tracking.configure(trained)
    version = client.get_model_version(registry.model_name(name), "1")
    parent = client.get_run(version.tags[registry.PIPELINE_RUN_TAG]).data.metrics
    for metric in ("rmse", "mae", "mape", "range_coverage", "model_in_range"):
        assert f"comps_test_{metric}" in parent, sorted(parent)
    assert 0.0 < parent["comps_test_range_coverage"] < 1.0
    assert parent["comps_test_rmse"] > 0 and np.isfinite(parent["comps_test_rmse"])
    # The model's own test figures keep their names (the gate reads them).
    assert "test_rmse" in parent and "test_comps_rmse" not in parent
