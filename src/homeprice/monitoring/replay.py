"""Replay: score a registered model offline on logged, labelled requests, decide as `ab evaluate`.

The champion side is what was actually served (each champion-served prediction against its
label); the candidate side is the replayed model's prediction for the same logged features, so
every label is paired, as in shadow mode, and the paired anytime-valid statistics apply, with
the loss cap, scale and variance pre-registered from the current champion's offline metrics
(abtest.Preregistered). The result is offline evidence only: replay never moves an alias, and
a "promote", "retire" or "rollback" it reaches is reported as what the live loop would do
(`evidence: offline`, `applied: false`), never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from mlflow.exceptions import MlflowException

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.datasets import get_dataset
from homeprice.durations import parse_duration
from homeprice.errors import NotFoundError
from homeprice.monitoring.abtest import ABDecision, Preregistered, compare, decide, variant_stats
from homeprice.monitoring.live import rules_from
from homeprice.predictionlog import PredictionLog
from homeprice.predictionlog.archive import PREDICTIONS, labelled_history, read_archive
from homeprice.training.evaluation import predict_with_interval

MODE = "replay"
NOTE = "replay: offline evidence, nothing applied"
DEFAULT_SINCE = "7d"


@dataclass
class ReplayResult:
    """A replay's decision (same shape as `ab evaluate`'s) and what it was computed on."""

    decision: ABDecision
    dataset: str
    model_version: str
    since: datetime
    window: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (--json and the insights API)."""
        return {**self.decision.to_dict(), "note": NOTE, "window": self.window}


def resolve_model(settings: Settings, dataset: str, ref: str) -> str:
    """The version behind `ref` (an alias such as challenger, or a version number)."""
    client = tracking.configure(settings)
    name = registry.model_name(dataset)
    if ref.isdigit():
        try:
            client.get_model_version(name, ref)
        except MlflowException:
            raise NotFoundError(f"{name} has no version {ref}") from None
        return ref
    version = registry.alias_version(client, dataset, ref)
    if version is None:
        raise NotFoundError(f"{name} has no {ref!r} alias: register a challenger (`homeprice "
                            "pipeline run`) or name a version number")
    return version


def model_input(features: list[dict[str, Any]], feature_columns: list[str]) -> pd.DataFrame:
    """The model's input frame for logged request features, built as serving builds it (one
    column per feature, a missing optional field as None)."""
    return pd.DataFrame({name: [row.get(name) for row in features] for name in feature_columns})


def served_rows(log: PredictionLog, settings: Settings, dataset: str, since: datetime
                 ) -> pd.DataFrame:
    """Labelled champion-served predictions since `since` (archive and live log), each once,
    with their logged features."""
    labelled = labelled_history(log, Lake(settings.lake_root), dataset, since)
    # Shadow rows are the previous candidate's answers, not what users got; split-mode
    # challenger answers were served by another model than the champion side compares.
    rows = labelled[labelled["served"] & (labelled["variant"] == registry.CHAMPION)]
    rows = rows.drop_duplicates("prediction_id").reset_index(drop=True)
    if rows.empty:
        return rows.assign(features=pd.Series(dtype=object))
    features = log.features_of(rows["prediction_id"].tolist())
    missing = set(rows["prediction_id"]) - set(features)
    if missing:
        archived = read_archive(Lake(settings.lake_root), PREDICTIONS, dataset, since)
        archived = archived[archived["prediction_id"].isin(missing)]
        features.update({pid: orjson.loads(text) for pid, text in
                         zip(archived["prediction_id"], archived["features"], strict=True)})
    rows["features"] = rows["prediction_id"].map(features)
    # A row whose features are gone cannot be replayed; it is left out of both sides alike.
    return rows[rows["features"].notna()].reset_index(drop=True)


def replay(dataset: str, settings: Settings, model: str = registry.CHALLENGER,
           since: str | None = DEFAULT_SINCE, log: PredictionLog | None = None,
           now: datetime | None = None) -> ReplayResult:
    """Score `model` (alias or version) on `dataset`'s labelled champion-served requests of
    the last `since` (e.g. 7d) and decide promote / rollback / keep as `ab evaluate` would.

    A server passes its open prediction log; otherwise one is opened for this call.
    """
    name = get_dataset(dataset).name
    if name not in settings.serving.datasets:
        raise NotFoundError(f"{name} is not served (serving.datasets: "
                            f"{', '.join(settings.serving.datasets)})")
    window = since or DEFAULT_SINCE
    start = (now or datetime.now(UTC)) - parse_duration(window, "since")
    version = resolve_model(settings, name, model)
    if log is not None:
        rows = served_rows(log, settings, name, start)
    else:
        own = PredictionLog(settings.log_url)
        own.start()
        try:
            rows = served_rows(own, settings, name, start)
        finally:
            own.close()
    if rows.empty:
        raise NotFoundError(f"no labelled champion-served predictions of {name} in the last "
                            f"{window} (since {start.isoformat(timespec='seconds')})")
    candidate = registry.load_model(name, version)
    feature_columns = list(get_dataset(name).feature_columns)
    predicted, lower, upper = predict_with_interval(
        candidate, model_input(rows["features"].tolist(), feature_columns))
    return _decision(settings, name, version, rows, np.asarray(predicted, float),
                     np.asarray(lower, float), np.asarray(upper, float), start, window)


def _decision(settings: Settings, dataset: str, version: str, rows: pd.DataFrame,
              predicted: np.ndarray, lower: np.ndarray, upper: np.ndarray, start: datetime,
              window: str) -> ReplayResult:
    rules = rules_from(settings)
    client = tracking.configure(settings)
    champion_now = registry.alias_version(client, dataset, registry.CHAMPION)
    offline = (registry.version_metrics(client, dataset, champion_now) if champion_now else {})
    preregistered = Preregistered.from_offline(offline, rules)
    actual = rows["actual_price"].to_numpy(float)
    served_versions = sorted(set(rows["model_version"]), key=lambda v: (len(v), v))
    champion = variant_stats(registry.CHAMPION, ",".join(served_versions), actual,
                             rows["prediction"].to_numpy(float), rows["lower"].to_numpy(float),
                             rows["upper"].to_numpy(float), rules, preregistered)
    challenger = variant_stats(MODE, version, actual, predicted, lower, upper, rules,
                               preregistered)
    # Paired per request, like shadow mode: both sides answer the same logged features.
    difference = (compare(MODE, np.abs(rows["prediction"].to_numpy(float) - actual),
                          np.abs(predicted - actual), rules, preregistered)
                  if preregistered is not None else None)
    entries = registry.history(client, dataset)
    has_previous = len(registry.champion_lineage(entries)) >= 2
    action, reason = decide(MODE, champion, challenger, difference, preregistered,
                            has_previous, rules)
    decision = ABDecision(action=action, reason=reason, mode=MODE, champion=champion,
                          challenger=challenger, difference=difference,
                          details={"dataset": dataset, "champion_version": champion_now,
                                   "served_versions": served_versions,
                                   "challenger_version": version,
                                   "since": start.isoformat(), "offline_mae": offline.get("mae"),
                                   "loss_cap": (preregistered.to_dict(rules)
                                                if preregistered else None),
                                   "applied": False, "evidence": "offline"})
    return ReplayResult(decision=decision, dataset=dataset, model_version=version, since=start,
                        window=window)


__all__ = ["DEFAULT_SINCE", "NOTE", "ReplayResult", "model_input", "replay", "resolve_model",
           "served_rows"]
