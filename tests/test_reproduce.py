"""`homeprice reproduce --run-id`: a fast-budget run retrains to equal metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings
from homeprice.data.lake import Lake

runner = CliRunner()


def pipeline_run_of_version_1(settings: Settings, dataset: str = "california") -> str:
    client = tracking.configure(settings)
    return client.get_model_version(registry.model_name(dataset), "1").tags["pipeline_run_id"]


@pytest.mark.slow
def test_reproduce_gives_equal_metrics(serving_settings: Settings) -> None:  # noqa: F811
    run_id = pipeline_run_of_version_1(serving_settings)
    result = runner.invoke(app, ["reproduce", "--run-id", run_id, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["reproduced"] and body["run_id"] == run_id and body["new_run_id"] != run_id
    candidates = {m["candidate"] for m in body["metrics"]}
    assert candidates == set(serving_settings.training.candidates)
    assert all(abs(m["new"] - m["old"]) <= 1e-9 * max(1.0, abs(m["old"]))
               for m in body["metrics"])
    assert {"rmse", "mae", "interval_coverage"} <= {m["metric"] for m in body["metrics"]}
    new_run = tracking.configure(serving_settings).get_run(body["new_run_id"])
    assert new_run.data.tags["reproduces"] == run_id


def test_missing_lake_file_names_the_sha256(serving_settings: Settings) -> None:  # noqa: F811
    run_id = pipeline_run_of_version_1(serving_settings)
    sha256 = tracking.configure(serving_settings).get_run(run_id).data.tags["data_sha256"]
    Path(Lake(serving_settings.lake_root).raw_path("california", sha256)).unlink()
    result = runner.invoke(app, ["reproduce", "--run-id", run_id])
    assert result.exit_code == 1
    assert sha256 in result.output and "not in the lake" in result.output


def test_unknown_run_is_a_clear_error(serving_settings: Settings) -> None:  # noqa: F811
    result = runner.invoke(app, ["reproduce", "--run-id", "0123456789abcdef"])
    assert result.exit_code == 2
    assert "no run '0123456789abcdef'" in result.output
