"""Comparables on labelled traffic: how often a logged home's true price falls inside its
comps' range, and the comps' estimate error beside the model's.

The homes are the champion-served predictions that got feedback (as `replay` takes them),
with their logged features; their comps come from the current champion's index (what the API
answers today), while the model's price is the one that was served. The share inside the
range tells users how much a "within the comps range" answer is worth on real traffic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from homeprice import registry
from homeprice.comparables import comparables_metrics, comparables_of
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.durations import parse_duration
from homeprice.errors import NotFoundError, UnsupportedError
from homeprice.monitoring.replay import DEFAULT_SINCE, model_input, resolve_model, served_rows
from homeprice.predictionlog import PredictionLog
from homeprice.training.comparables import EVALUATION_K
from homeprice.training.evaluation import point_metrics


@dataclass(frozen=True)
class LiveComparables:
    """The comps against the served model on labelled traffic."""

    dataset: str
    comps_version: str
    """The champion whose index gave the comps."""
    served_versions: list[str]
    rows: int
    k: int
    since: str
    model: dict[str, float]
    comps: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready values."""
        return asdict(self)


def live_comparables(dataset: str, settings: Settings, since: str | None = DEFAULT_SINCE,
                     k: int = EVALUATION_K, log: PredictionLog | None = None,
                     now: datetime | None = None) -> LiveComparables:
    """The comps' estimate error and range coverage on `dataset`'s labelled champion-served
    requests of the last `since`, beside the served model's error."""
    name = get_dataset(dataset).name
    window = since or DEFAULT_SINCE
    start = (now or datetime.now(UTC)) - parse_duration(window, "since")
    version = resolve_model(settings, name, registry.CHAMPION)
    index = comparables_of(registry.load_model(name, version))
    if index is None:
        raise UnsupportedError(f"champion v{version} of {name} has no comparables (registered "
                               "before they existed); train a new version to monitor them")
    own = log is None
    log = log or PredictionLog(settings.log_url)
    if own:
        log.start()
    try:
        rows = served_rows(log, settings, name, start)
    finally:
        if own:
            log.close()
    if rows.empty:
        raise NotFoundError(f"no labelled champion-served predictions of {name} in the last "
                            f"{window} (since {start.isoformat(timespec='seconds')})")
    X = model_input(rows["features"].tolist(), list(get_dataset(name).feature_columns))
    estimate = index.estimate(index.query(X, min(k, index.max_k)))
    actual = rows["actual_price"].to_numpy(float)
    served = rows["prediction"].to_numpy(float)
    model = point_metrics(actual, served)
    comps = comparables_metrics(actual, estimate, model_price=served)
    return LiveComparables(
        dataset=name, comps_version=version,
        served_versions=sorted(set(rows["model_version"]), key=lambda v: (len(v), v)),
        rows=len(rows), k=min(k, index.max_k), since=start.isoformat(timespec="seconds"),
        model={key: model[key] for key in ("rmse", "mae", "mape")},
        comps={key: float(value) for key, value in comps.items() if np.isfinite(value)})
