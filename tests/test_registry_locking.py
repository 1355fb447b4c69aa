"""Alias moves under real concurrency (threads and processes) on SQLite and PostgreSQL MLflow
stores: one winner, the rest ConflictError, and an audit trail that agrees with the aliases."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeprice import registry, registrylock, tracking
from homeprice.errors import ConflictError
from tests.support.aliasmoves import (
    DATASET,
    champion_consistent,
    race_processes,
    race_threads,
    registered_versions,
)
from tests.support.postgres import fresh_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An MLflow store with versions 1-3 where v1, v3, v2 were promoted in turn (champion v2,
    a rollback goes to v3)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        else:
            uri = stack.enter_context(fresh_pg_database("aliaslock"))
        registered_versions(uri, 3)
        client = tracking.registry_client(uri)
        for version in ("1", "3", "2"):
            registry.promote(client, DATASET, version, "setup")
        yield uri


def assert_trail_agrees(uri: str) -> list[registry.AuditEntry]:
    """Each champion move starts where the previous one ended, and the last ends at the alias."""
    state = champion_consistent(uri)()
    moves = [e for e in state["entries"] if e.alias == registry.CHAMPION]
    for before, after in zip(moves, moves[1:], strict=False):
        assert after.from_version == before.to_version, (before, after)
    assert moves[-1].to_version == state["alias"] == state["lineage"][-1]
    return moves


def test_concurrent_rollbacks_in_threads_one_wins(store_uri: str) -> None:
    outcomes = race_threads([(store_uri, "rollback", None, "2")] * 4)
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    moves = assert_trail_agrees(store_uri)
    assert [m.action for m in moves].count("rollback") == 1
    assert moves[-1].to_version == "3"


@pytest.mark.slow
def test_concurrent_moves_in_processes_one_wins(store_uri: str) -> None:
    # Two rollbacks and a promotion, all evaluated against champion v2.
    calls = [(store_uri, "rollback", None, "2"), (store_uri, "rollback", None, "2"),
             (store_uri, "promote", "1", "2")]
    outcomes = race_processes(calls)
    assert sorted(outcomes) == ["conflict", "conflict", "ok"]
    moves = assert_trail_agrees(store_uri)
    assert len(moves) == 4  # three setup promotions + the one winner


def test_unchecked_concurrent_rollbacks_serialise(store_uri: str) -> None:
    # Without expectations both may act, but one after the other: v2 -> v3, then v3 -> v1,
    # never two entries both claiming to move away from v2.
    outcomes = race_threads([(store_uri, "rollback", None, None)] * 2)
    assert outcomes == ["ok", "ok"]
    moves = assert_trail_agrees(store_uri)
    assert [(m.from_version, m.to_version) for m in moves[-2:]] == [("2", "3"), ("3", "1")]


def test_stale_expected_champion_changes_nothing(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered_versions(uri, 3)
    client = tracking.registry_client(uri)
    registry.promote(client, DATASET, "1", "first")
    registry.promote(client, DATASET, "2", "second")
    before = registry.history(client, DATASET)
    with pytest.raises(ConflictError, match="champion of homeprice-california is v2, not v1"):
        registry.rollback(client, DATASET, "evaluated v1", expected_champion="1")
    with pytest.raises(ConflictError, match="champion .* is v2, not v1"):
        registry.promote(client, DATASET, "3", "evaluated v1", expected_champion="1")
    with pytest.raises(ConflictError, match="challenger .* is unset, not v3"):
        registry.promote(client, DATASET, "3", "pair gone", expected_challenger="3")
    assert registry.history(client, DATASET) == before
    assert registry.alias_version(client, DATASET, registry.CHAMPION) == "2"


def test_retire_clears_the_challenger_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered_versions(uri, 2)
    client = tracking.registry_client(uri)
    registry.promote(client, DATASET, "1", "first")
    client.set_registered_model_alias(registry.model_name(DATASET), registry.CHALLENGER, "2")
    with pytest.raises(ConflictError, match="challenger .* is v2, not v1"):
        registry.retire(client, DATASET, "stale", expected_challenger="1")
    entry = registry.retire(client, DATASET, "worse on live data", who="ops",
                            expected_challenger="2")
    assert (entry.action, entry.alias, entry.from_version, entry.to_version) == (
        "retire", "challenger", "2", None)
    assert registry.alias_version(client, DATASET, registry.CHALLENGER) is None
    assert registry.history(client, DATASET)[-1] == entry
    with pytest.raises(ConflictError, match="no challenger to retire"):
        registry.retire(client, DATASET, "again")
    assert len(registry.history(client, DATASET)) == 2  # the promotion and the retirement


def test_a_held_lock_times_out_as_a_conflict(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with registrylock.alias_lock(uri, "homeprice-x"), pytest.raises(
            ConflictError, match="another alias move of homeprice-x"):
        with registrylock.alias_lock(uri, "homeprice-x", timeout=0.2):
            pass
    assert (tmp_path / ".homeprice-x.alias.lock").exists()
    assert registrylock.lock_key("homeprice-x") == registrylock.lock_key("homeprice-x")
    assert registrylock.lock_key("homeprice-x") != registrylock.lock_key("homeprice-y")
