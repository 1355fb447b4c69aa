"""Registering extra model versions and seeding a labelled prediction log, as the loop would."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import mlflow
import numpy as np
from sklearn.dummy import DummyRegressor

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.predictionlog import PredictionLog, PredictionRecord


def constant_price_copy(model: object) -> object:
    """The model with its estimator replaced by a constant $200k: plausible, and much worse."""
    constant = copy.deepcopy(model)
    width = len(model[0].get_feature_names_out())
    constant[-1].estimator_ = DummyRegressor(strategy="constant", constant=200_000.0).fit(
        np.zeros((2, width)), np.zeros(2))
    return constant


def register_variant(settings: Settings, model: object, dataset: str = "california") -> str:
    """Log `model` in a new run and register it like the pipeline does (tags of version 1)."""
    client = tracking.configure(settings)
    experiment = tracking.experiment_id(client, dataset, settings)
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle",
                                        pip_requirements=tracking.pip_requirements())
    first = client.get_model_version(registry.model_name(dataset), "1")
    tags = {k: v for k, v in first.tags.items() if k in ("pipeline_run_id", "candidate")}
    return registry.register(client, dataset, info.model_uri, run.info.run_id,
                             registry.version_metrics(client, dataset, "1"), tags)


def seed(settings: Settings, n: int, challenger_version: str, challenger_scale: float,
         mode: str, clients: int = 80, logged_mode: str | None = "") -> None:
    """n labelled champion predictions plus challenger ones (shadow: paired; split: own).

    Split rows come from `clients` clients per arm (each client sees one model); every row
    records `logged_mode` as its traffic mode ("" means `mode`; None: unknown, as rows logged
    before migration 0003).
    """
    logged = mode if logged_mode == "" else logged_mode
    rng = np.random.default_rng(5)
    log = PredictionLog(settings.log_url)
    log.start()
    now = datetime.now(UTC)
    labels = []
    for i in range(n):
        actual = float(rng.uniform(100_000, 500_000))
        error = float(rng.standard_t(3) * 30_000)
        served_id = uuid.uuid4().hex
        request = uuid.uuid4().hex
        common = dict(request_id=request, ts=now, dataset="california", lower=0.0,
                      upper=1e7, features={}, mode=logged)
        champion_client = f"a{i % clients}" if mode == "split" else None
        records = [PredictionRecord(prediction_id=served_id, variant="champion",
                                    model_version="1", served=True, prediction=actual + error,
                                    client_id=champion_client, **common)]
        other = error if mode == "shadow" else float(rng.standard_t(3) * 30_000)
        challenger_prediction = actual + other * challenger_scale * rng.lognormal(-0.045, 0.3)
        if mode == "shadow":
            records.append(PredictionRecord(
                prediction_id=uuid.uuid4().hex, variant="shadow",
                model_version=challenger_version, served=False,
                prediction=challenger_prediction, parent_prediction_id=served_id, **common))
        else:
            split_id = uuid.uuid4().hex
            records.append(PredictionRecord(
                prediction_id=split_id, variant="challenger", model_version=challenger_version,
                served=True, prediction=challenger_prediction, client_id=f"b{i % clients}",
                **(common | {"request_id": uuid.uuid4().hex})))
            labels.append((split_id, actual))
        log.enqueue(records)
        labels.append((served_id, actual))
    log.flush()
    for prediction_id, actual in labels:
        log.add_feedback(prediction_id, actual)
    log.close()


def register_candidate(settings: Settings, candidate: str, dataset: str = "california") -> str:
    """Register (as the new challenger) the `candidate` model that the pipeline run of version 1
    trained beside its winner, with that candidate's own test metrics: a real, worse model,
    registered directly (it would not pass the gate's margin over version 1)."""
    client = tracking.configure(settings)
    first = client.get_model_version(registry.model_name(dataset), "1")
    parent = first.tags[registry.PIPELINE_RUN_TAG]
    experiment = client.get_run(parent).info.experiment_id
    [child] = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}' and "
                                               f"tags.candidate = '{candidate}'")
    [logged] = mlflow.search_logged_models(
        experiment_ids=[experiment], filter_string=f"source_run_id = '{child.info.run_id}'",
        output_format="list")
    metrics = {k.removeprefix("test_"): v for k, v in child.data.metrics.items()
               if k.startswith("test_")}
    return registry.register(client, dataset, logged.model_uri, child.info.run_id, metrics,
                             {"candidate": candidate, registry.PIPELINE_RUN_TAG: parent})
