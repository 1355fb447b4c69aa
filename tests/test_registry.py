"""Registry: gate, promotion, rollback and the audit trail, on a real MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.dummy import DummyRegressor

from homeprice import registry, tracking
from homeprice.config import Settings, load_settings
from homeprice.errors import HomepriceError, UserInputError
from tests.support.homecopy import copy_home

GOOD = {"rmse": 40_000.0, "r2": 0.88, "mae": 27_000.0, "mape": 0.15}


def test_gate_without_champion_checks_thresholds() -> None:
    decision = registry.gate("california", GOOD, None, None, Settings())
    assert decision.promote
    assert "no champion yet" in decision.summary()


def test_gate_fails_an_absolute_threshold() -> None:
    decision = registry.gate("california", GOOD | {"r2": 0.70}, None, None, Settings())
    assert not decision.promote
    assert "r2 0.7 >= 0.75 FAILED" in decision.summary()


def test_gate_needs_a_margin_over_the_champion() -> None:
    settings = Settings()
    barely = GOOD | {"rmse": 39_990.0}  # 0.025% better: below the 0.5% margin
    decision = registry.gate("california", barely, GOOD, "3", settings)
    assert not decision.promote and "champion v3" in decision.summary()
    clearly = GOOD | {"rmse": 38_000.0}
    assert registry.gate("california", clearly, GOOD, "3", settings).promote


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store with three registered versions, built once (migrations take seconds)."""
    path = tmp_path_factory.mktemp("registry") / "home"
    settings = Settings(home=path)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        client = tracking.configure(settings)
        experiment = tracking.experiment_id(client, "california", settings)
        model = DummyRegressor().fit(np.zeros((4, 1)), np.arange(4.0))
        for rmse in (50_000.0, 45_000.0, 42_000.0):
            with mlflow.start_run(experiment_id=experiment) as run:
                info = mlflow.sklearn.log_model(model, name="model",
                                                serialization_format="cloudpickle",
                                                pip_requirements=tracking.pip_requirements())
            registry.register(client, "california", info.model_uri, run.info.run_id,
                              GOOD | {"rmse": rmse}, {"candidate": "dummy"})
    return path


@pytest.fixture
def store(home: Path, template_home: Path) -> Settings:
    """A private copy of the template store."""
    copy_home(template_home, home)
    return load_settings()


def test_versions_promotion_rollback_history(store: Settings) -> None:
    client = tracking.configure(store)
    assert registry.alias_version(client, "california", "challenger") == "3"
    assert registry.alias_version(client, "california", "champion") is None
    with pytest.raises(HomepriceError, match="no previous champion"):
        registry.rollback(client, "california", "nothing to go back to")

    registry.promote(client, "california", "1", "first release", who="alice")
    registry.promote(client, "california", "3", "better", who="bob")
    assert registry.alias_version(client, "california", "champion") == "3"
    assert registry.alias_version(client, "california", "challenger") is None

    registry.promote(client, "california", "2", "try v2")
    entry = registry.rollback(client, "california", "v2 misbehaves", who="carol")
    assert (entry.from_version, entry.to_version) == ("2", "3")
    assert registry.alias_version(client, "california", "champion") == "3"
    entry = registry.rollback(client, "california", "v3 too")
    assert (entry.from_version, entry.to_version) == ("3", "1")
    with pytest.raises(HomepriceError, match="no previous champion"):
        registry.rollback(client, "california", "nothing left")

    entries = registry.history(client, "california")
    champion_moves = [(e.action, e.from_version, e.to_version, e.actor)
                      for e in entries if e.alias == "champion"]
    assert champion_moves[:2] == [("promote", None, "1", "alice"), ("promote", "1", "3", "bob")]
    assert [m[0] for m in champion_moves] == ["promote", "promote", "promote", "rollback",
                                              "rollback"]
    assert entries[-1].reason == "v3 too" and entries[-1].metrics["rmse"] == 50_000.0
    assert all(e.at for e in entries)

    listed = {r["version"]: r for r in registry.list_versions(client, "california")}
    assert listed["1"]["aliases"] == ["champion"] and listed["3"]["metrics"]["rmse"] == 42_000.0


def test_bad_promotions_are_user_errors(store: Settings) -> None:
    client = tracking.configure(store)
    with pytest.raises(UserInputError, match="has no version 9"):
        registry.promote(client, "california", "9", "typo")
    with pytest.raises(UserInputError, match="needs a reason"):
        registry.promote(client, "california", "1", "  ")
    registry.promote(client, "california", "1", "ok")
    with pytest.raises(UserInputError, match="already the champion"):
        registry.promote(client, "california", "1", "again")


def test_apply_gate_records_the_reason(store: Settings) -> None:
    client = tracking.configure(store)
    decision = registry.gate("california", GOOD | {"r2": 0.5}, None, None, store)
    registry.apply_gate(client, "california", "3", decision)
    assert registry.alias_version(client, "california", "champion") is None
    version = client.get_model_version("homeprice-california", "3")
    assert version.tags["gate"].startswith("kept as challenger: ") and "FAILED" in version.tags[
        "gate"]
