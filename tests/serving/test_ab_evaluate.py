"""`ab evaluate` on a seeded log: decisions, --apply through the registry, webhook delivery."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from homeprice.serving.logstore import PredictionLog, PredictionRecord
from tests.serving.test_reload import register_variant

runner = CliRunner()


def seed(settings: Settings, n: int, challenger_version: str, challenger_scale: float,
         mode: str) -> None:
    """n labelled champion predictions plus challenger ones (shadow: paired; split: own)."""
    rng = np.random.default_rng(5)
    log = PredictionLog(settings.log_url)
    log.start()
    now = datetime.now(timezone.utc)
    labels = []
    for _ in range(n):
        actual = float(rng.uniform(100_000, 500_000))
        error = float(rng.standard_t(3) * 30_000)
        served_id = uuid.uuid4().hex
        request = uuid.uuid4().hex
        common = dict(request_id=request, ts=now, dataset="california", lower=0.0,
                      upper=1e7, features={})
        records = [PredictionRecord(prediction_id=served_id, variant="champion",
                                    model_version="1", served=True, prediction=actual + error,
                                    **common)]
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
                served=True, prediction=challenger_prediction,
                **(common | {"request_id": uuid.uuid4().hex})))
            labels.append((split_id, actual))
        log.enqueue(records)
        labels.append((served_id, actual))
    log.flush()
    for prediction_id, actual in labels:
        log.add_feedback(prediction_id, actual)
    log.close()


def test_better_shadow_challenger_is_promoted_with_apply(serving_settings: Settings,
                                                         webhook: list[dict]) -> None:
    champion = registry.load_model("california", "1")
    version = register_variant(serving_settings, champion)
    seed(load_settings(), 800, version, 0.6, "shadow")
    report = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    assert report.exit_code == 0, report.output
    decision = json.loads(report.output)
    assert decision["action"] == "promote" and decision["mode"] == "shadow"
    assert decision["difference_mae"]["lower"] > 0 and not decision["applied"]
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == "1"  # report only

    applied = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "decision: promote (applied)" in applied.output
    assert registry.alias_version(client, "california", "champion") == version
    last = [e for e in registry.history(client, "california") if e.alias == "champion"][-1]
    assert last.action == "ab-promote" and last.actor == "ab-evaluate"
    assert "anytime-valid" in last.reason
    assert webhook and webhook[0]["event"] == "ab-promote"
    assert webhook[0]["challenger_version"] == version


def test_worse_split_challenger_is_kept(serving_settings: Settings, webhook: list[dict]) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, version, 3.0, "split")
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
    assert result.exit_code == 0, result.output
    assert "decision: keep" in result.output and "challenger is worse" in result.output
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == "1"
    assert webhook == []


def test_too_few_labels_says_so(serving_settings: Settings) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 37, version, 0.5, "shadow")
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    decision = json.loads(result.output)
    assert decision["action"] == "keep"
    assert decision["reason"] == "champion has 37 of 100 labelled predictions"


def test_bad_window(serving_settings: Settings) -> None:
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--window", "soon"])
    assert result.exit_code == 2 and "window 'soon'" in result.output


def test_rows_of_an_older_pair_do_not_count(serving_settings: Settings) -> None:
    """The sequence restarts when the pair changes: labels logged before it are ignored."""
    first = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, first, 0.6, "shadow")
    register_variant(serving_settings, registry.load_model("california", "1"))  # new challenger
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    decision = json.loads(result.output)
    assert decision["champion"] is None
    assert (decision["action"], decision["reason"]) == (
        "keep", "the champion has no labelled predictions yet")
