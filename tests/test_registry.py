"""Registry: gate, promotion, rollback and the audit trail, on a real MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)
from sklearn.dummy import DummyRegressor

from homeprice import registry, tracking
from homeprice.config import Settings, load_settings
from homeprice.errors import ConflictError, HomepriceError, UserInputError
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


class _FailingRegistry:
    """A client whose alias lookups fail with one MLflow error code."""

    def __init__(self, code: int) -> None:
        self.code = code

    def get_model_version_by_alias(self, name: str, alias: str) -> None:
        raise MlflowException(f"lookup of {name}@{alias} failed", self.code)


@pytest.mark.parametrize("code", [RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE])
def test_a_missing_model_or_alias_has_no_version(code: int) -> None:
    assert registry.alias_version(_FailingRegistry(code), "california", "champion") is None


@pytest.mark.parametrize("code", [TEMPORARILY_UNAVAILABLE, INTERNAL_ERROR])
def test_a_failing_registry_is_not_a_missing_alias(code: int) -> None:
    # Taken for "no alias", a locked store made a server start without its champion.
    with pytest.raises(MlflowException, match="failed"):
        registry.alias_version(_FailingRegistry(code), "california", "champion")


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
    # Guards gate.mode offline failing = the behaviour before gate modes: kept as challenger.
    client = tracking.configure(store)
    decision = registry.gate("california", GOOD | {"r2": 0.5}, None, None, store)
    assert registry.apply_gate(client, "california", "3", decision, mode="offline") == "failed"
    assert registry.alias_version(client, "california", "champion") is None
    assert registry.alias_version(client, "california", "challenger") == "3"
    version = client.get_model_version("homeprice-california", "3")
    assert version.tags["gate"].startswith("kept as challenger: ") and "FAILED" in version.tags[
        "gate"]
    assert version.tags["gate_outcome"] == "failed"


def test_live_gate_rejects_a_failing_challenger(store: Settings) -> None:
    # Guards: in live mode a version failing the gate loses the challenger alias (no live
    # traffic), audited as gate-reject with the gate's reasons.
    client = tracking.configure(store)
    decision = registry.gate("california", GOOD | {"r2": 0.5}, None, None, store)
    assert registry.apply_gate(client, "california", "3", decision, mode="live") == "rejected"
    assert registry.alias_version(client, "california", "challenger") is None
    last = registry.history(client, "california")[-1]
    assert (last.action, last.alias, last.from_version, last.to_version) == (
        "gate-reject", "challenger", "3", None)
    assert "FAILED" in last.reason
    assert client.get_model_version("homeprice-california", "3").tags["gate"].startswith(
        "rejected: ")


def test_live_gate_reject_leaves_a_newer_challenger_alone(store: Settings) -> None:
    # Guards the compare-and-set: rejecting v2 must not clear the alias now naming v3.
    client = tracking.configure(store)
    before = len(registry.history(client, "california"))
    decision = registry.gate("california", GOOD | {"r2": 0.5}, None, None, store)
    assert registry.apply_gate(client, "california", "2", decision, mode="live") == "rejected"
    assert registry.alias_version(client, "california", "challenger") == "3"
    assert len(registry.history(client, "california")) == before


def test_gate_modes_with_a_champion(store: Settings) -> None:
    # Guards the lifecycle: with a champion, live leaves a passing version as challenger (no
    # champion move); offline promotes it at once (gate-promote), as before gate modes.
    client = tracking.configure(store)
    registry.promote(client, "california", "1", "first release")
    better = GOOD | {"rmse": 30_000.0}
    decision = registry.gate("california", better, GOOD, "1", store)
    assert registry.apply_gate(client, "california", "3", decision, mode="live") == "challenger"
    assert registry.alias_version(client, "california", "champion") == "1"
    assert registry.alias_version(client, "california", "challenger") == "3"
    assert decision.summary().startswith("challenger awaiting live evidence: ")
    assert registry.history(client, "california")[-1].action == "promote"  # nothing moved

    decision = registry.gate("california", better, GOOD, "1", store)
    assert registry.apply_gate(client, "california", "3", decision, mode="offline") == "champion"
    assert registry.alias_version(client, "california", "champion") == "3"
    assert registry.alias_version(client, "california", "challenger") is None
    assert {e.action for e in registry.history(client, "california")[-2:]} == {"gate-promote"}


def test_gate_without_champion_promotes_in_both_modes(store: Settings) -> None:
    # Guards "a first install must serve": no champion + pass -> champion even in live mode.
    client = tracking.configure(store)
    decision = registry.gate("california", GOOD, None, None, store)
    assert registry.apply_gate(client, "california", "3", decision, mode="live") == "champion"
    assert registry.alias_version(client, "california", "champion") == "3"


def test_gate_on_stale_evidence(store: Settings) -> None:
    # Guards: a champion that appeared after the evaluation refuses an offline promotion
    # (nothing recorded), while live mode leaves the version to live evidence against it.
    client = tracking.configure(store)
    registry.promote(client, "california", "1", "meanwhile")
    decision = registry.gate("california", GOOD, None, None, store)
    with pytest.raises(ConflictError, match="moved meanwhile"):
        registry.apply_gate(client, "california", "3", decision, mode="offline")
    assert "gate" not in client.get_model_version("homeprice-california", "3").tags
    assert registry.alias_version(client, "california", "champion") == "1"
    assert registry.apply_gate(client, "california", "3", decision, mode="live") == "challenger"
    assert registry.alias_version(client, "california", "champion") == "1"


def _entry(action: str, alias: str, before: str | None, after: str | None, at: int
           ) -> registry.AuditEntry:
    return registry.AuditEntry(at=f"2026-01-01T00:00:{at:02d}.000000+00:00", action=action,
                               alias=alias, from_version=before, to_version=after,
                               reason="r", actor="ab-evaluate")


def test_derive_stages_names_every_stage() -> None:
    # Guards each stage rule of registry.derive_stages (one version per stage).
    versions = [
        {"version": "1", "aliases": [], "gate": "promoted: ok", "gate_outcome": "champion"},
        {"version": "2", "aliases": ["champion"], "gate": "challenger awaiting live evidence: "
         "ok", "gate_outcome": "challenger"},
        {"version": "3", "aliases": [], "gate": "challenger awaiting live evidence: ok",
         "gate_outcome": "challenger"},
        {"version": "4", "aliases": [], "gate": "rejected: r2 0.5 >= 0.75 FAILED; rmse ok",
         "gate_outcome": "rejected"},
        {"version": "5", "aliases": [], "gate": "kept as challenger: r2 0.5 >= 0.75 FAILED",
         "gate_outcome": None},
        {"version": "6", "aliases": [], "gate": None, "gate_outcome": None},
        {"version": "7", "aliases": ["challenger"], "gate": "challenger awaiting live "
         "evidence: ok", "gate_outcome": "challenger"},
    ]
    entries = [
        _entry("register", "challenger", None, "1", 1),
        _entry("gate-promote", "champion", None, "1", 2),
        _entry("gate-promote", "challenger", "1", None, 3),
        _entry("register", "challenger", None, "2", 4),
        _entry("ab-promote", "champion", "1", "2", 5),
        _entry("ab-promote", "challenger", "2", None, 6),
        _entry("register", "challenger", None, "3", 7),
        _entry("ab-retire", "challenger", "3", None, 8),
        _entry("register", "challenger", None, "4", 9),
        _entry("gate-reject", "challenger", "4", None, 10),
        _entry("register", "challenger", None, "5", 11),
        _entry("register", "challenger", "5", "6", 12),
        _entry("register", "challenger", "6", "7", 13),
    ]
    found = registry.derive_stages(versions, entries, "shadow")
    assert {v: s.stage for v, s in found.items()} == {
        "1": "previous champion", "2": "champion", "3": "retired", "4": "retired",
        "5": "gate failed", "6": "registered", "7": "challenger"}
    assert found["1"].detail == "replaced by v2 by ab-promote"
    assert found["3"].detail.startswith("by ab-retire") and found["4"].detail.startswith(
        "by gate-reject")
    assert found["5"].detail == "r2 0.5 >= 0.75 FAILED"
    assert found["6"].detail == "replaced as challenger by v7 before a decision"
    assert found["7"].detail == "in live evaluation (shadow)"
    assert registry.derive_stages(versions, entries, "off")["7"].detail.startswith(
        "no live traffic")
    assert registry.derive_stages(versions, entries)["7"].detail == "awaiting live evidence"


def test_list_versions_shows_stages(store: Settings) -> None:
    # Guards that list_versions (CLI and insights API) carries the derived stage per version.
    client = tracking.configure(store)
    registry.promote(client, "california", "1", "first")
    registry.retire(client, "california", "not good enough", who="dora")
    registry.promote(client, "california", "2", "second")
    found = registry.stages(client, "california", "shadow")
    assert {v: s.stage for v, s in found.items()} == {
        "1": "previous champion", "2": "champion", "3": "retired"}
    assert found["3"].detail.startswith("by retire (dora, ")
    rows = {r["version"]: r for r in registry.list_versions(client, "california")}
    assert rows["3"]["stage"] == "retired" and rows["2"]["stage_detail"]
