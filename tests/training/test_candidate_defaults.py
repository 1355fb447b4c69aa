"""Every candidate's first trial (its defaults: all that the fast budget tries) learns: it
beats a constant model clearly on held-out rows of both datasets.

Guards the failure seen when LightGBM's default loss was briefly Huber: a fast-budget run
registered a constant model (R² 0.0). Each loss LightGBM may be tuned to is checked too, since
the tuner can pick any of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.datasets import get_dataset
from homeprice.training.candidates import CANDIDATES, LIGHTGBM_OBJECTIVES, build_pipeline
from homeprice.training.evaluation import point_metrics

ROWS = 1500


@pytest.fixture(scope="module")
def samples(real_data_dir: Path) -> dict[str, tuple]:
    """Dataset -> (train X, train y, test X, test y): 1,500 cleaned rows, 80/20."""
    out = {}
    for name in ("california", "bengaluru"):
        dataset = get_dataset(name)
        raw = read_table(real_data_dir / name / dataset.source.filename)
        data = dataset.clean(raw, Settings()).data.sample(ROWS, random_state=0)
        X, y = data[list(dataset.feature_columns)], data[dataset.target].to_numpy(float)
        cut = int(0.8 * ROWS)
        out[name] = (X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:])
    return out


CASES = [(name, params) for name in CANDIDATES if name != "lightgbm"
         for params in [CANDIDATES[name].defaults]]
CASES += [("lightgbm", CANDIDATES["lightgbm"].defaults | {"objective": loss})
          for loss in LIGHTGBM_OBJECTIVES]


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
@pytest.mark.parametrize(("candidate", "params"), CASES,
                         ids=[f"{c}-{p.get('objective', 'default')}" for c, p in CASES])
def test_default_trial_beats_a_constant_model(samples, dataset: str, candidate: str,
                                               params: dict) -> None:
    X, y, X_test, y_test = samples[dataset]
    pipeline = build_pipeline(dataset, CANDIDATES[candidate], params, seed=0, n_jobs=1,
                              log_target=Settings().datasets[dataset].log_target)
    predicted = pipeline.fit(X, y).predict(X_test)
    constant = np.full_like(y_test, np.median(y))
    ours, flat = (point_metrics(y_test, p)["rmse"] for p in (predicted, constant))
    assert np.std(predicted) > 0.3 * np.std(y_test), "nearly constant predictions"
    assert ours < 0.8 * flat, f"RMSE {ours:.4g} against a constant's {flat:.4g}"
