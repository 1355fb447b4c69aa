"""`homeprice reproduce` on a run whose logged metric no retraining gives: exit 1, named."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings

runner = CliRunner()


def test_a_metric_that_does_not_reproduce_exits_1(serving_settings: Settings) -> None:
    """Guards the verdict: a logged RMSE 10% off what the run's data, config and seed give is
    reported as not reproduced (exit 1, the metric marked), never as equal."""
    client = tracking.configure(serving_settings)
    run_id = client.get_model_version(registry.model_name("california"), "1").tags[
        "pipeline_run_id"]
    run = client.get_run(run_id)
    # Only the ridge candidate (as if the run had trained just it), to keep the retraining short.
    resolved = Path(urlparse(run.info.artifact_uri).path) / "config" / "resolved.json"
    config = json.loads(resolved.read_text())
    config["training"]["candidates"] = ["ridge"]
    resolved.write_text(json.dumps(config))
    [ridge] = client.search_runs([run.info.experiment_id],
                                 f"tags.mlflow.parentRunId = '{run_id}' and "
                                 "tags.candidate = 'ridge'")
    logged = ridge.data.metrics["test_rmse"]
    client.log_metric(ridge.info.run_id, "test_rmse", logged * 1.1)  # the latest value wins

    result = runner.invoke(app, ["reproduce", "--run-id", run_id, "--json"])

    assert result.exit_code == 1, result.output
    assert f"run {run_id} did not reproduce" in result.output
    body, _ = json.JSONDecoder().raw_decode(result.output)  # the error line follows it
    assert body["reproduced"] is False
    unequal = [(m["candidate"], m["metric"]) for m in body["metrics"] if not m["equal"]]
    assert unequal == [("ridge", "rmse")]
