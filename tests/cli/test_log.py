"""`homeprice log prune` through the CLI: JSON and table output, dry run, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.predictionlog import PredictionLog
from homeprice.predictionlog.archive import PREDICTIONS, read_archive
from tests.support.logrows import Seeded, seed

runner = CliRunner()


def _seeded(settings: Settings) -> Seeded:
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        now = datetime.now(UTC)
        seeded = seed(log, "california", now, old=3, new=2)
        seed(log, "bengaluru", now, old=2, new=0)
    finally:
        log.close()
    return seeded


def _count(settings: Settings, dataset: str) -> int:
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        return log.count(dataset)
    finally:
        log.close()


def test_prune_archives_and_reports_as_json(settings: Settings, home: Path) -> None:
    _seeded(settings)
    dry = runner.invoke(app, ["log", "prune", "--older-than", "90d", "--dataset", "california",
                              "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] is True and planned["dataset"] == "california"
    assert planned["totals"]["prediction_logs"]["deleted"] == 6
    assert _count(settings, "california") == 10, "a dry run deletes nothing"

    done = runner.invoke(app, ["log", "prune", "--older-than", "90d", "--dataset", "california",
                               "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["totals"] == {
        "prediction_logs": {"archived": 6, "already_archived": 0, "deleted": 6},
        "feedback": {"archived": 2, "already_archived": 0, "deleted": 2}}
    files = [f for partition in result["partitions"] for f in partition["files"]]
    assert files and all(f.startswith("file://") and Path(f.removeprefix("file://")).is_file()
                         for f in files)
    assert _count(settings, "california") == 4 and _count(settings, "bengaluru") == 4
    assert len(read_archive(Lake(settings.lake_root), PREDICTIONS, "california")) == 6


def test_prune_prints_a_table_and_defaults_to_the_configured_age(
        settings: Settings, home: Path, monkeypatch) -> None:
    _seeded(settings)
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__OLDER_THAN", "2w")
    done = runner.invoke(app, ["log", "prune"])
    assert done.exit_code == 0, done.output
    assert "older than 2w" in done.output
    assert "prediction_logs: 10 archived, 10 deleted" in done.output
    assert "feedback: 3 archived, 3 deleted" in done.output
    # The one-day-old predictions stay (they are newer than two weeks).
    assert _count(settings, "california") == 4 and _count(settings, "bengaluru") == 0
    since = datetime.now(UTC) - timedelta(days=200)
    assert len(read_archive(Lake(settings.lake_root), PREDICTIONS, since=since)) == 10


def test_bad_input_is_one_line_and_exit_2(settings: Settings, home: Path) -> None:
    for value in ("90", "90 days", "1.5d", "3y", "0d"):
        result = runner.invoke(app, ["log", "prune", "--older-than", value])
        assert result.exit_code == 2, (value, result.output)
        assert f"--older-than '{value}'" in result.output
        assert "Traceback" not in result.output
    unknown = runner.invoke(app, ["log", "prune", "--older-than", "90d", "--dataset", "atlantis"])
    assert unknown.exit_code == 2 and "atlantis" in unknown.output
    zero = runner.invoke(app, ["log", "prune", "--batch-size", "0"])
    assert zero.exit_code == 2 and "batch-size" in zero.output
    assert not (home / "predictions.db").exists(), "refused input opened nothing"
