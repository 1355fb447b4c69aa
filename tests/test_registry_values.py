"""Exact values of the registry: audit entries field by field, conflict and error messages, the
gate's reasons and outcomes, stages' details, on real (cheap) MLflow stores.

The other registry tests check the lifecycle end to end; these pin what each move writes and
says, so a changed field, message or rule fails a test (`make mutation` relies on them for
registry.py). Versions carry metric tags but no model files (alias moves never load a model),
and every store is a copy of one migrated once, which keeps each test well under a second.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.errors import AlreadyChampionError, ConflictError, HomepriceError, UserInputError
from tests.support.aliasmoves import DATASET, registered_versions
from tests.support.mlflowstore import empty_sqlite_store

NAME = registry.model_name(DATASET)
GOOD = {"rmse": 40_000.0, "r2": 0.88}
# registered_versions gives version i an rmse of 50,000 - (i - 1).
RMSE = {"1": 50_000.0, "2": 49_999.0, "3": 49_998.0}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """A store with versions 1-3 (no aliases), the actor fixed to 'tester'."""
    monkeypatch.setenv("HOMEPRICE_ACTOR", "tester")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered_versions(uri, 3)
    return tracking.registry_client(uri)


def moves(client: MlflowClient) -> list[tuple[str, str, str | None, str | None, str, str]]:
    """The audit trail as (action, alias, from, to, reason, actor) tuples."""
    return [(e.action, e.alias, e.from_version, e.to_version, e.reason, e.actor)
            for e in registry.history(client, DATASET)]


def aliases(client: MlflowClient) -> tuple[str | None, str | None]:
    return (registry.alias_version(client, DATASET, registry.CHAMPION),
            registry.alias_version(client, DATASET, registry.CHALLENGER))


# -- names and the actor ----------------------------------------------------------------------
def test_names_and_the_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Guards the model name, the lifecycle constants other modules read, and who acts.
    assert registry.model_name("bengaluru") == "homeprice-bengaluru"
    assert (registry.CHAMPION, registry.CHALLENGER) == ("champion", "challenger")
    assert registry.RETIRING_ACTIONS == ("retire", "ab-retire", "gate-reject")
    monkeypatch.setenv("HOMEPRICE_ACTOR", "ops-bot")
    assert registry.actor() == "ops-bot"
    monkeypatch.setenv("HOMEPRICE_ACTOR", "")
    assert registry.actor() == getpass.getuser()
    monkeypatch.delenv("HOMEPRICE_ACTOR")
    assert registry.actor() == getpass.getuser()
    for error in (KeyError("no passwd entry"), OSError("no login")):
        def fail(error: Exception = error) -> str:
            raise error
        monkeypatch.setattr(getpass, "getuser", fail)
        assert registry.actor() == "unknown"


# -- audit entries ------------------------------------------------------------------------------
@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Local time 5:30 ahead of UTC (a POSIX TZ string: no tz database needed), so code that
    stamps local time instead of UTC shows on a machine that runs in UTC, as CI does."""
    # TZ is restored by hand: monkeypatch.undo() here would also undo every other fixture's
    # patches of this test, and the process's time zone must be reset (tzset) after TZ is.
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_a_move_writes_one_audit_tag_with_every_field(client: MlflowClient) -> None:
    # Guards _audit's key (audit/<UTC stamp>-<6 hex>) and value (the entry as JSON), and
    # _move_alias's fields: time in UTC to the microsecond (local time here is UTC+5:30, so a
    # stamp taken without UTC falls outside [before, after]), actor from the environment.
    before = datetime.now(UTC)
    entry = registry.promote(client, DATASET, "2", "first release")
    after = datetime.now(UTC)
    tags = client.get_registered_model(NAME).tags
    keys = [k for k in tags if k.startswith("audit/")]
    assert len(keys) == 1
    assert re.fullmatch(r"audit/\d{8}T\d{12}Z-[0-9a-f]{6}", keys[0]), keys[0]
    stamp = datetime.strptime(keys[0][6:28], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert before <= stamp <= after
    assert json.loads(tags[keys[0]]) == {
        "at": entry.at, "action": "promote", "alias": "champion", "from_version": None,
        "to_version": "2", "reason": "first release", "actor": "tester",
        "metrics": {"rmse": RMSE["2"]}}
    at = datetime.fromisoformat(entry.at)
    assert at.tzinfo == UTC and before <= at <= after
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", entry.at), entry.at
    assert registry.history(client, DATASET) == [entry]


def test_history_reads_only_audit_tags_in_key_order(client: MlflowClient) -> None:
    # Guards history(): other tags of the model are not entries; entries come oldest first;
    # an unknown model has none.
    client.set_registered_model_tag(NAME, "owner", "data-team")
    client.set_registered_model_tag(NAME, "audited", "no")
    for version in ("1", "3", "2"):
        registry.promote(client, DATASET, version, f"to v{version}")
    assert [e.to_version for e in registry.history(client, DATASET)
            if e.alias == "champion"] == ["1", "3", "2"]
    assert registry.history(client, "bengaluru") == []
    assert registry.alias_version(client, "bengaluru", registry.CHAMPION) is None


def test_version_metrics_are_the_metric_tags_as_floats(client: MlflowClient) -> None:
    # Guards version_metrics: the prefix stripped, values parsed, other tags left out.
    client.set_model_version_tag(NAME, "1", "metric.r2", "0.875")
    client.set_model_version_tag(NAME, "1", "metricless", "1")
    assert registry.version_metrics(client, DATASET, "1") == {"rmse": 50_000.0, "r2": 0.875}


# -- promote, rollback, retire ------------------------------------------------------------------
def test_promote_moves_the_champion_and_clears_the_challenger_it_was(
        client: MlflowClient) -> None:
    # Guards _make_champion: both entries, their actions, reasons, actor and metrics, and that a
    # challenger other than the promoted version is left alone.
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "2")
    registry.promote(client, DATASET, "1", "first", who="alice")
    assert aliases(client) == ("1", "2")
    entry = registry.promote(client, DATASET, 2, "better", who="bob", action="ab-promote")
    assert (entry.from_version, entry.to_version, entry.metrics) == ("1", "2", {"rmse": RMSE["2"]})
    assert aliases(client) == ("2", None)
    assert moves(client) == [
        ("promote", "champion", None, "1", "first", "alice"),
        ("ab-promote", "champion", "1", "2", "better", "bob"),
        ("ab-promote", "challenger", "2", None, "version 2 became champion", "bob"),
    ]
    cleared = registry.history(client, DATASET)[-1]
    assert cleared.metrics == {}


def test_promotion_refusals_name_what_is_wrong(client: MlflowClient) -> None:
    # Guards the messages of a missing reason, a missing version and a second promotion.
    with pytest.raises(UserInputError, match="^a promotion needs a reason$"):
        registry.promote(client, DATASET, "1", " \t")
    with pytest.raises(UserInputError, match="^homeprice-california has no version 9$"):
        registry.promote(client, DATASET, "9", "typo")
    registry.promote(client, DATASET, "1", "first")
    with pytest.raises(AlreadyChampionError,
                       match="^version 1 is already the champion of california$"):
        registry.promote(client, DATASET, "1", "again")
    assert len(registry.history(client, DATASET)) == 1


def test_expected_aliases_are_compared_as_text_and_named_when_moved(
        client: MlflowClient) -> None:
    # Guards _check_expected: each alias checked on its own, a number equal to the version
    # passes, the message names the alias, its version (or unset) and the one expected.
    registry.promote(client, DATASET, "1", "first")
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "3")
    with pytest.raises(ConflictError) as caught:
        registry.promote(client, DATASET, "2", "x", expected_champion="2")
    assert str(caught.value) == ("champion of homeprice-california is v1, not v2 as expected: "
                                 "it moved meanwhile; look again and retry")
    with pytest.raises(ConflictError, match="^challenger of homeprice-california is v3, not v2 "):
        registry.promote(client, DATASET, "2", "x", expected_champion=1,  # type: ignore[arg-type]
                         expected_challenger="2")
    with pytest.raises(ConflictError, match="^champion of homeprice-california is v1, not v2 "):
        registry.retire(client, DATASET, "stale", expected_champion="2")
    registry.retire(client, DATASET, "gone", expected_champion="1", expected_challenger="3")
    with pytest.raises(ConflictError, match="^challenger of homeprice-california is unset, not "
                                            "v3 as expected"):
        registry.rollback(client, DATASET, "x", expected_challenger="3")
    entry = registry.promote(client, DATASET, "3", "ok", expected_champion=1)  # type: ignore[arg-type]
    assert (entry.from_version, entry.to_version) == ("1", "3")


def test_rollback_returns_to_the_previous_champion_with_its_metrics(
        client: MlflowClient) -> None:
    # Guards rollback's target (the lineage's second last), its entry and its refusals.
    with pytest.raises(UserInputError, match="^a rollback needs a reason$"):
        registry.rollback(client, DATASET, "")
    with pytest.raises(ConflictError, match="^homeprice-california has no previous champion to "
                                            "roll back to$"):
        registry.rollback(client, DATASET, "nothing yet")
    registry.promote(client, DATASET, "1", "first")
    with pytest.raises(ConflictError, match="no previous champion"):
        registry.rollback(client, DATASET, "only one")
    registry.promote(client, DATASET, "3", "second")
    registry.promote(client, DATASET, "2", "third")
    entry = registry.rollback(client, DATASET, "v2 misbehaves", who="carol")
    assert (entry.action, entry.alias, entry.from_version, entry.to_version, entry.reason,
            entry.actor, entry.metrics) == ("rollback", "champion", "2", "3", "v2 misbehaves",
                                            "carol", {"rmse": RMSE["3"]})
    assert aliases(client) == ("3", None)
    # A champion alias removed outside the registry: nothing to roll back from.
    client.delete_registered_model_alias(NAME, registry.CHAMPION)
    with pytest.raises(ConflictError, match="no previous champion"):
        registry.rollback(client, DATASET, "gone")


def test_retire_clears_the_challenger_with_its_metrics(client: MlflowClient) -> None:
    # Guards retire's refusals, its action parameter, actor and the retired version's metrics.
    with pytest.raises(UserInputError, match="^retiring a challenger needs a reason$"):
        registry.retire(client, DATASET, "  ")
    with pytest.raises(ConflictError, match="^homeprice-california has no challenger to "
                                            "retire$"):
        registry.retire(client, DATASET, "none")
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "3")
    entry = registry.retire(client, DATASET, "worse live", action="ab-retire")
    assert (entry.action, entry.alias, entry.from_version, entry.to_version, entry.reason,
            entry.actor, entry.metrics) == ("ab-retire", "challenger", "3", None, "worse live",
                                            "tester", {"rmse": RMSE["3"]})
    assert aliases(client) == (None, None)


def test_clearing_an_unset_alias_records_the_move_without_deleting(
        client: MlflowClient) -> None:
    # Guards _move_alias's "nothing to delete" branch (MLflow refuses to delete a missing alias).
    entry = registry._move_alias(client, DATASET, registry.CHALLENGER, None, action="retire",
                                 reason="tidy", metrics={"rmse": 1.0})
    assert (entry.from_version, entry.to_version, entry.metrics) == (None, None, {"rmse": 1.0})
    assert registry.history(client, DATASET) == [entry]


def test_champion_lineage_pushes_promotions_and_pops_rollbacks() -> None:
    # Guards champion_lineage: challenger moves ignored, a cleared alias not pushed, a rollback
    # on an empty stack harmless.
    def entry(action: str, alias: str, to: str | None) -> registry.AuditEntry:
        return registry.AuditEntry(at="t", action=action, alias=alias, from_version=None,
                                   to_version=to, reason="r", actor="a")

    entries = [entry("rollback", "champion", "9"), entry("promote", "champion", "1"),
               entry("register", "challenger", "2"), entry("promote", "champion", "3"),
               entry("promote", "champion", None), entry("gate-promote", "champion", "4"),
               entry("rollback", "champion", "3")]
    assert registry.champion_lineage(entries) == ["1", "3"]
    assert registry.champion_lineage(entries[:-1]) == ["1", "3", "4"]


# -- register -----------------------------------------------------------------------------------
@pytest.fixture
def global_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """An empty store that MLflow's process-wide URIs point at (register and load_model use
    them), put back after the test."""
    monkeypatch.setenv("HOMEPRICE_ACTOR", "tester")
    uri = empty_sqlite_store(tmp_path / "mlflow.db")
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, uri)
    monkeypatch.setattr(tracking_utils, "_tracking_uri", uri)
    monkeypatch.setattr(registry_utils, "_registry_uri", uri)
    return tracking.registry_client(uri)


def test_register_creates_the_model_once_and_makes_each_version_challenger(
        global_store: MlflowClient, tmp_path: Path) -> None:
    # Guards register: the model's description, metric tags (repr of a float), the run id tag,
    # the caller's tags, and the audited challenger move.
    source = (tmp_path / "model").as_uri()
    first = registry.register(global_store, DATASET, source, "run-1", {"rmse": 41_000, "r2": 0.9},
                              {"candidate": "ridge"})
    second = registry.register(global_store, DATASET, source, "run-2", {"rmse": 40_000.5},
                               {"candidate": "lightgbm"})
    assert (first, second) == ("1", "2")
    model = global_store.get_registered_model(NAME)
    assert model.description == "homeprice house-price model for the california dataset"
    assert global_store.get_model_version(NAME, "2").source == source
    tags = global_store.get_model_version(NAME, "1").tags
    assert tags == {"candidate": "ridge", "metric.rmse": "41000.0", "metric.r2": "0.9",
                    "run_id": "run-1"}
    assert aliases(global_store) == (None, "2")
    assert moves(global_store) == [
        ("register", "challenger", None, "1", "new version from run run-1", "tester"),
        ("register", "challenger", "1", "2", "new version from run run-2", "tester"),
    ]
    assert registry.history(global_store, DATASET)[0].metrics == {"rmse": 41_000, "r2": 0.9}


def test_load_model_names_the_uri_it_could_not_load(global_store: MlflowClient) -> None:
    # Guards load_model's URI: a number is a version (models:/name/N), anything else an alias
    # (models:/name@alias).
    registered_versions(global_store.tracking_uri, 1)
    with pytest.raises(UserInputError, match="^cannot load models:/homeprice-california/7: "):
        registry.load_model(DATASET, "7")
    with pytest.raises(UserInputError,
                       match="^cannot load models:/homeprice-california@champion: "):
        registry.load_model(DATASET, "champion")


def test_a_version_artifact_comes_from_its_pipeline_run(
        global_store: MlflowClient, tmp_path: Path) -> None:
    # Guards download_version_artifact: the run named by the version's tag, the file's local
    # path, and the errors without the tag or the file.
    registered_versions(global_store.tracking_uri, 1)
    experiment = global_store.create_experiment("x", artifact_location=(tmp_path / "art").as_uri())
    run = global_store.create_run(experiment)
    report = tmp_path / "metrics.json"
    report.write_text('{"rmse": 1}')
    global_store.log_artifact(run.info.run_id, str(report), "evaluation")
    with pytest.raises(HomepriceError, match="^california v1 has no pipeline run to read "
                                             "evaluation/metrics.json from$"):
        registry.download_version_artifact(global_store, DATASET, "1", "evaluation/metrics.json",
                                           tmp_path / "out")
    global_store.set_model_version_tag(NAME, "1", registry.PIPELINE_RUN_TAG, run.info.run_id)
    (tmp_path / "out").mkdir()
    path = registry.download_version_artifact(global_store, DATASET, "1",
                                              "evaluation/metrics.json", tmp_path / "out")
    assert Path(path).is_relative_to(tmp_path / "out") and Path(path).name == "metrics.json"
    assert Path(path).read_text() == '{"rmse": 1}'
    with pytest.raises(HomepriceError, match=f"^california v1: cannot read missing.json of run "
                                             f"{run.info.run_id}: "):
        registry.download_version_artifact(global_store, DATASET, "1", "missing.json",
                                           tmp_path / "out")


# -- the gate -----------------------------------------------------------------------------------
def test_gate_reasons_are_exact() -> None:
    # Guards each reason's text: metric, value, side, limit, FAILED, and the champion line.
    settings = Settings()
    passed = registry.gate("california", GOOD, None, None, settings)
    assert passed.reasons == ["rmse 40,000 <= 55,000", "r2 0.88 >= 0.75", "no champion yet"]
    assert passed.promote and passed.champion_metrics is None and passed.outcome is None
    failed = registry.gate("california", {"rmse": 60_000.0, "r2": 0.7}, {"rmse": 50_000.0},
                           "4", settings)
    assert failed.reasons == ["rmse 60,000 <= 55,000 FAILED", "r2 0.7 >= 0.75 FAILED",
                              "rmse 60,000 vs champion v4 50,000 (needs <= 49,750) FAILED"]
    assert not failed.promote and failed.challenger_metrics == {"rmse": 60_000.0, "r2": 0.7}
    # Failing only the margin fails the gate: every rule counts, not only the last.
    margin = registry.gate("california", GOOD, {"rmse": 40_100.0}, "4", settings)
    assert not margin.promote and margin.reasons[-1].endswith(" FAILED")
    threshold = registry.gate("california", GOOD | {"r2": 0.5}, {"rmse": 90_000.0}, "4", settings)
    assert not threshold.promote


def test_a_rule_names_its_metric_after_the_first_underscore() -> None:
    # Guards the rule split: "max_" or "min_", then the metric's whole name (underscores kept).
    settings = Settings()
    settings.datasets["california"].gate = {"max_abs_err_p90": 10.0, "min_r2": 0.5}
    decision = registry.gate("california", {"abs_err_p90": 12.0, "r2": 0.5, "rmse": 1.0}, None,
                             None, settings)
    assert decision.reasons == ["abs_err_p90 12 <= 10 FAILED", "r2 0.5 >= 0.5",
                                "no champion yet"]
    assert not decision.promote


@pytest.mark.parametrize(("outcome", "promote", "lead"), [
    ("champion", True, "promoted"), ("challenger", True, "challenger awaiting live evidence"),
    ("rejected", False, "rejected"), ("failed", False, "kept as challenger"),
    (None, True, "passed"), (None, False, "failed")])
def test_the_summary_leads_with_what_happened(outcome: str | None, promote: bool,
                                              lead: str) -> None:
    # Guards GateDecision.summary: the lead per outcome, then the reasons joined by "; ".
    decision = registry.GateDecision(promote=promote, reasons=["a 1", "b 2"],
                                     challenger_metrics={}, outcome=outcome)
    assert decision.summary() == f"{lead}: a 1; b 2"


def test_gate_outcome_for_every_case() -> None:
    # Guards gate_outcome's table: a first install is promoted in either mode; with a champion
    # only offline promotes; a failure is rejected live and kept (failed) offline.
    table = {(passed, champion, mode): registry.gate_outcome(passed, champion, mode)
             for passed in (True, False) for champion in (None, "1")
             for mode in ("live", "offline")}
    assert table == {
        (True, None, "live"): "champion", (True, None, "offline"): "champion",
        (True, "1", "live"): "challenger", (True, "1", "offline"): "champion",
        (False, None, "live"): "rejected", (False, None, "offline"): "failed",
        (False, "1", "live"): "rejected", (False, "1", "offline"): "failed",
    }


def test_apply_gate_tags_and_audits_exactly(client: MlflowClient) -> None:
    # Guards apply_gate: the version's tags, the decision's outcome, the gate-promote and
    # gate-reject entries (reason "gate: <summary>", the challenger's metrics on a rejection).
    settings = Settings()
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "1")
    decision = registry.gate("california", GOOD, None, None, settings)
    assert registry.apply_gate(client, DATASET, 1, decision, mode="live") == "champion"  # type: ignore[arg-type]
    assert decision.outcome == "champion"
    summary = "promoted: rmse 40,000 <= 55,000; r2 0.88 >= 0.75; no champion yet"
    tags = client.get_model_version(NAME, "1").tags
    assert (tags["gate"], tags["gate_outcome"]) == (summary, "champion")
    assert moves(client) == [
        ("gate-promote", "champion", None, "1", f"gate: {summary}", "tester"),
        ("gate-promote", "challenger", "1", None, "version 1 became champion", "tester")]

    client.set_registered_model_alias(NAME, registry.CHALLENGER, "2")
    bad = {"rmse": 60_000.0, "r2": 0.8}
    decision = registry.gate("california", bad, {"rmse": 50_000.0}, "1", settings)
    assert registry.apply_gate(client, DATASET, "2", decision, mode="live") == "rejected"
    reject = registry.history(client, DATASET)[-1]
    assert (reject.action, reject.alias, reject.from_version, reject.to_version,
            reject.reason, reject.metrics) == (
        "gate-reject", "challenger", "2", None, f"gate: {decision.summary()}", bad)
    assert decision.summary().startswith("rejected: rmse 60,000 <= 55,000 FAILED; ")
    assert client.get_model_version(NAME, "2").tags["gate_outcome"] == "rejected"
    assert aliases(client) == ("1", None)


def test_apply_gate_refuses_a_promotion_on_a_champion_it_did_not_compare(
        client: MlflowClient) -> None:
    # Guards the compare-and-set message, naming both champions, and that nothing is recorded.
    registry.promote(client, DATASET, "1", "first")
    registry.promote(client, DATASET, "2", "second")
    stale = registry.gate("california", GOOD, {"rmse": 90_000.0}, "1", Settings())
    with pytest.raises(ConflictError) as caught:
        registry.apply_gate(client, DATASET, "3", stale, mode="offline")
    assert str(caught.value) == ("champion of homeprice-california is v2, but the gate of v3 "
                                 "compared it with v1: it moved meanwhile; gate again")
    fresh = registry.gate("california", GOOD, None, None, Settings())
    with pytest.raises(ConflictError, match="^champion of homeprice-california is v2, but the "
                                            "gate of v3 compared it with none: "):
        registry.apply_gate(client, DATASET, "3", fresh, mode="offline")
    assert "gate" not in client.get_model_version(NAME, "3").tags
    assert stale.outcome is None
    # Against the champion it compared with, it is promoted.
    current = registry.gate("california", GOOD, {"rmse": 90_000.0}, "2", Settings())
    assert registry.apply_gate(client, DATASET, "3", current, mode="offline") == "champion"
    assert aliases(client)[0] == "3"


def test_a_long_gate_summary_is_cut_to_the_tag_limit(client: MlflowClient) -> None:
    # Guards the 4,900-character cut (MLflow refuses longer tag values) and that the outcome
    # tag is written whole.
    decision = registry.GateDecision(promote=False, reasons=["x" * 6_000],
                                     challenger_metrics={})
    assert registry.apply_gate(client, DATASET, "1", decision, mode="offline") == "failed"
    tags = client.get_model_version(NAME, "1").tags
    assert tags["gate"] == decision.summary()[:4900] and len(tags["gate"]) == 4900
    assert tags["gate_outcome"] == "failed" and moves(client) == []


# -- stages ------------------------------------------------------------------------------------
def _entry(action: str, alias: str, before: str | None, after: str | None, second: int,
           actor: str = "ops") -> registry.AuditEntry:
    return registry.AuditEntry(at=f"2026-01-01T00:00:{second:02d}.123456+00:00", action=action,
                               alias=alias, from_version=before, to_version=after, reason="r",
                               actor=actor)


def _versions(*rows: tuple[str, list[str]]) -> list[dict[str, object]]:
    return [{"version": v, "aliases": a, "gate": None, "gate_outcome": None} for v, a in rows]


def test_stage_details_are_exact() -> None:
    # Guards derive_stages' details: who retired a version and when (to the second), which
    # version replaced a champion, and the challenger's traffic mode.
    versions = _versions(("1", []), ("2", ["champion"]), ("3", []), ("4", ["challenger"]))
    entries = [_entry("promote", "champion", None, "1", 1),
               _entry("promote", "champion", "1", "2", 2),
               _entry("register", "challenger", None, "3", 3),
               _entry("retire", "challenger", "3", None, 4, actor="dora"),
               _entry("register", "challenger", None, "4", 5)]
    found = registry.derive_stages(versions, entries, "split")
    assert found == {
        "1": registry.Stage("previous champion", "replaced by v2 by promote"),
        "2": registry.Stage("champion", "serves every request not routed to a challenger"),
        "3": registry.Stage("retired", "by retire (dora, 2026-01-01T00:00:04)"),
        "4": registry.Stage("challenger", "in live evaluation (split)"),
    }
    assert registry.derive_stages(versions, entries, "off")["4"].detail == (
        "no live traffic: traffic mode off")
    assert registry.Stage("registered").detail == ""


def test_a_champion_retired_later_is_retired_and_one_retired_before_is_a_previous_champion(
        ) -> None:
    # Guards the order test between losing the champion alias and leaving as challenger, and
    # that a champion's first promotion (not a later re-promotion) is what is remembered.
    versions = _versions(("1", []), ("2", []), ("3", ["champion"]))
    entries = [# v2 is retired as challenger before it becomes champion
               _entry("register", "challenger", None, "2", 0),
               _entry("retire", "challenger", "2", None, 1),
               _entry("promote", "champion", None, "1", 2),
               _entry("promote", "champion", "1", "2", 3),
               # v1 comes back as challenger after losing the champion alias, then is retired
               _entry("register", "challenger", None, "1", 4),
               _entry("ab-retire", "challenger", "1", None, 5),
               _entry("promote", "champion", "2", "3", 6)]
    found = registry.derive_stages(versions, entries)
    assert found["1"] == registry.Stage("retired", "by ab-retire (ops, 2026-01-01T00:00:05)")
    assert found["2"] == registry.Stage("previous champion", "replaced by v3 by promote")
    # Retired in the same second it lost the champion alias: the retirement is not after it.
    same = [_entry("promote", "champion", None, "1", 1), _entry("retire", "challenger", "1",
                                                                  None, 2),
            _entry("promote", "champion", "1", "2", 2)]
    assert registry.derive_stages(_versions(("1", [])), same)["1"].stage == "previous champion"


def test_a_champion_whose_alias_vanished_was_replaced_by_a_later_version() -> None:
    # Guards the detail when no recorded move took the alias away from the version, and that a
    # re-promotion keeps the first entry naming it.
    entries = [_entry("promote", "champion", None, "1", 1),
               _entry("promote", "champion", "1", "1", 2)]
    found = registry.derive_stages(_versions(("1", [])), entries)
    assert found["1"] == registry.Stage("previous champion", "replaced by a later version")


def test_a_challenger_kept_by_a_move_to_itself_has_not_left() -> None:
    # Guards the "left the challenger" rule: a move from a version to itself is not a leaving.
    entries = [_entry("register", "challenger", None, "1", 1),
               _entry("register", "challenger", "1", "1", 2)]
    assert registry.derive_stages(_versions(("1", [])), entries)["1"] == registry.Stage(
        "registered")
    replaced = [*entries, _entry("register", "challenger", "1", "2", 3)]
    assert registry.derive_stages(_versions(("1", [])), replaced)["1"].detail == (
        "replaced as challenger by v2 before a decision")


@pytest.mark.parametrize(("gate", "outcome", "stage", "detail"), [
    ("rejected: r2 0.5 >= 0.75 FAILED; rmse 1 <= 2", "rejected", "gate failed",
     "r2 0.5 >= 0.75 FAILED"),
    ("kept as challenger: a FAILED; b FAILED", "failed", "gate failed", "a FAILED; b FAILED"),
    # The outcome tag, when there is one, decides; the summary's lead only without it.
    ("kept as challenger: a FAILED", "champion", "registered", ""),
    ("kept as challenger: a FAILED", None, "gate failed", "a FAILED"),
    ("passed: a 1", None, "registered", ""),
    # Only the first ": " ends the lead; a tag without one (or no tag) has no lead to cut.
    ("rejected: mape: p90 0.3 <= 0.2 FAILED; r2 0.9 >= 0.75", "rejected", "gate failed",
     "mape: p90 0.3 <= 0.2 FAILED"),
    ("r2 0.5 >= 0.75 FAILED", "failed", "gate failed", "r2 0.5 >= 0.75 FAILED"),
    (None, "failed", "gate failed", ""),
    (None, "challenger", "registered", ""),
])
def test_gate_failed_reads_the_outcome_tag_first(gate: str | None, outcome: str | None,
                                                 stage: str, detail: str) -> None:
    # Guards _gate_failed and the failed rules listed as the detail.
    versions = [{"version": "1", "aliases": [], "gate": gate, "gate_outcome": outcome}]
    assert registry.derive_stages(versions, []) == {"1": registry.Stage(stage, detail)}


def test_listing_passes_the_traffic_mode_to_the_stages(client: MlflowClient) -> None:
    # Guards list_versions/stages: the challenger's detail follows the given traffic mode.
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "3")
    # Another dataset's model in the same store is not listed.
    registered_versions(client.tracking_uri, 2, dataset="bengaluru")
    rows = registry.list_versions(client, DATASET, "shadow")
    assert [(r["version"], r["stage"], r["stage_detail"]) for r in rows] == [
        ("3", "challenger", "in live evaluation (shadow)"), ("2", "registered", ""),
        ("1", "registered", "")]
    assert registry.stages(client, DATASET, "split") == {
        "3": registry.Stage("challenger", "in live evaluation (split)"),
        "2": registry.Stage("registered"), "1": registry.Stage("registered")}
    assert registry.stages(client, DATASET)["3"].detail == "awaiting live evidence"
    # The gate's outcome tag is listed and decides the stage.
    client.set_model_version_tag(NAME, "1", registry.GATE_TAG, "rejected: r2 0.5 >= 0.75 FAILED")
    client.set_model_version_tag(NAME, "1", registry.GATE_OUTCOME_TAG, "rejected")
    first = registry.list_versions(client, DATASET)[-1]
    assert (first["gate_outcome"], first["stage"], first["stage_detail"]) == (
        "rejected", "gate failed", "r2 0.5 >= 0.75 FAILED")


def test_every_move_takes_the_lock_of_its_model(global_store: MlflowClient,
                                                monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    # Guards that each read-check-move-audit runs under the lock of this dataset's model in
    # this store (a lock of another name would not keep concurrent movers apart).
    taken: list[tuple[str, str]] = []
    real = registry.alias_lock

    def spy(uri: str, name: str) -> object:
        taken.append((uri, name))
        return real(uri, name)

    monkeypatch.setattr(registry, "alias_lock", spy)
    source = (tmp_path / "model").as_uri()
    for run in ("run-1", "run-2", "run-3"):
        registry.register(global_store, DATASET, source, run, {"rmse": 1.0}, {})
    decision = registry.gate("california", GOOD, None, None, Settings())
    registry.apply_gate(global_store, DATASET, "3", decision, mode="live")
    registry.promote(global_store, DATASET, "1", "older")
    registry.rollback(global_store, DATASET, "back")
    global_store.set_registered_model_alias(NAME, registry.CHALLENGER, "2")
    registry.retire(global_store, DATASET, "done")
    assert taken == [(global_store.tracking_uri, NAME)] * 7
