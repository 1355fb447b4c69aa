"""`ab evaluate --apply` rolling a degraded champion back: the alias move, its audit entry and
the webhook, end to end from labelled rows in the prediction log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from homeprice.predictionlog import PredictionLog, PredictionRecord
from tests.support.registry import register_variant

runner = CliRunner()


def seed_champion(settings: Settings, version: str, n: int, error_scale: float) -> None:
    """n labelled predictions of champion `version`, each off by about `error_scale` (either
    way), through the prediction log's own API as a server logs them."""
    rng = np.random.default_rng(11)
    log = PredictionLog(settings.log_url)
    log.start()
    labels = []
    for _ in range(n):
        actual = float(rng.uniform(100_000, 500_000))
        error = float(rng.choice([-1, 1]) * error_scale * rng.lognormal(0, 0.2))
        prediction_id = uuid.uuid4().hex
        log.enqueue([PredictionRecord(
            prediction_id=prediction_id, request_id=uuid.uuid4().hex, ts=datetime.now(UTC),
            dataset="california", variant="champion", model_version=version, served=True,
            prediction=actual + error, lower=0.0, upper=1e7, features={})])
        labels.append((prediction_id, actual))
    log.flush()
    for prediction_id, actual in labels:
        log.add_feedback(prediction_id, actual)
    log.close()


def released_second_champion(settings: Settings) -> tuple[str, float]:
    """A second version promoted over v1 (so there is a champion to roll back to); its
    version and offline (test) MAE."""
    client = tracking.configure(settings)
    version = register_variant(settings, registry.load_model("california", "1"))
    registry.promote(client, "california", version, "release v2")
    return version, registry.version_metrics(client, "california", version)["mae"]


def test_apply_rolls_a_degraded_champion_back_with_audit_and_webhook(
        serving_settings: Settings, webhook: list[dict]) -> None:
    """Guards the whole rollback path: live MAE three times the offline MAE (read from the
    version's "mae" tag: a wrong key never rolls back) gives the champion alias back to v1,
    audited as ab-evaluate's rollback and announced on the webhook."""
    version, offline_mae = released_second_champion(serving_settings)
    seed_champion(load_settings(), version, 300, 3 * offline_mae)

    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])

    assert result.exit_code == 0, result.output
    assert "decision: rollback (applied)" in result.output
    assert "above its offline MAE" in result.output
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", registry.CHAMPION) == "1"
    last = registry.history(client, "california")[-1]
    assert (last.alias, last.action, last.actor, last.from_version, last.to_version) == (
        "champion", "rollback", "ab-evaluate", version, "1")
    assert last.reason.startswith("ab evaluate: ") and "offline MAE" in last.reason
    assert [event["event"] for event in webhook] == ["ab-rollback"]
    assert webhook[0]["champion_version"] == version and webhook[0]["applied"] is True


def test_a_champion_within_its_tolerance_is_kept(serving_settings: Settings,
                                                 webhook: list[dict]) -> None:
    """Guards against a rollback that fires whatever the data: live errors at the offline MAE
    (inside the configured tolerance) keep the champion, and nothing is sent."""
    version, offline_mae = released_second_champion(serving_settings)
    seed_champion(load_settings(), version, 300, offline_mae)

    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])

    assert result.exit_code == 0, result.output
    assert "decision: keep" in result.output and "no challenger is being evaluated" in (
        result.output)
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", registry.CHAMPION) == version
    assert registry.history(client, "california")[-1].action == "promote"
    assert webhook == []
