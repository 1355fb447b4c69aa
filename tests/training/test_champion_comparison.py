"""The gate's "same test rows": the champion is re-scored on the new run's test split, not
represented by the metrics it logged when it was trained."""

from __future__ import annotations

import math

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.data.splitting import Split
from homeprice.datasets import DATASETS
from homeprice.training import runner
from homeprice.training.evaluation import evaluate


def test_the_champion_is_scored_on_the_new_rows(trained: Settings) -> None:
    """Guards the comparison's rows: on test rows unlike its own (the 300 dearest homes of
    the split) the champion's RMSE is what it scores there, so returning the RMSE it logged at
    training time fails."""
    client = tracking.configure(trained)
    dataset = DATASETS["california"]
    split, _ = runner.load_split(dataset, trained)
    dearest = split.test.nlargest(300, dataset.target)
    new_rows = Split(train=split.train, calibration=split.calibration, test=dearest)

    metrics, version = runner._champion_on(dataset, new_rows)

    assert version == registry.alias_version(client, "california", registry.CHAMPION) == "1"
    assert metrics is not None
    expected = evaluate(registry.load_model("california", "1"), dataset, dearest)
    assert metrics == expected
    logged = registry.version_metrics(client, "california", "1")["rmse"]
    # The dearest homes are priced far worse than the average test row: the two differ by far
    # more than any rounding.
    assert not math.isclose(metrics["rmse"], logged, rel_tol=0.05), (metrics["rmse"], logged)
