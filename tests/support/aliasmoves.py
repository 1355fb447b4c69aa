"""Cheap registered versions and racing alias movers (threads or processes) for lock tests."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeprice import registry, tracking
from homeprice.errors import ConflictError
from tests.support.mlflowstore import empty_sqlite_store

DATASET = "california"


def registered_versions(uri: str, n: int, dataset: str = DATASET) -> None:
    """Register `n` versions (metric tags only, no model files) in the MLflow store at `uri`:
    alias moves never load a model, so this is all they need. A SQLite store not yet created
    starts as a copy of a migrated empty one (see `tests.support.mlflowstore`)."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        empty_sqlite_store(Path(uri.removeprefix("sqlite:///")))
    client = tracking.registry_client(uri)
    name = registry.model_name(dataset)
    client.create_registered_model(name)
    for i in range(n):
        client.create_model_version(name, source=f"file:///nonexistent/model-{i + 1}",
                                    tags={"metric.rmse": repr(50_000.0 - i), "candidate": "x"})


def move(uri: str, kind: str, version: str | None, expected_champion: str | None) -> str:
    """One alias move in a fresh client: 'ok', or 'conflict' when it was refused."""
    client = tracking.registry_client(uri)
    try:
        if kind == "rollback":
            registry.rollback(client, DATASET, "race", expected_champion=expected_champion)
        elif kind == "promote":
            assert version is not None
            registry.promote(client, DATASET, version, "race",
                             expected_champion=expected_champion)
        else:
            raise ValueError(f"unknown move {kind!r}")
    except ConflictError:
        return "conflict"
    return "ok"


def _process_worker(barrier: Any, results: Any, index: int, args: tuple) -> None:
    # Import time (MLflow) varies by seconds per process: wait for all before racing.
    barrier.wait()
    results.put((index, move(*args)))


def race_threads(calls: list[tuple]) -> list[str]:
    """Run `move(*call)` for every call at once in threads; outcomes in call order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(index: int, args: tuple) -> None:
        barrier.wait()
        outcomes[index] = move(*args)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def race_processes(calls: list[tuple]) -> list[str]:
    """Run `move(*call)` for every call at once in spawned processes; outcomes in call order."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(calls))
    results = ctx.Queue()
    processes = [ctx.Process(target=_process_worker, args=(barrier, results, i, c))
                 for i, c in enumerate(calls)]
    for process in processes:
        process.start()
    collected = dict(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    return [collected[i] for i in range(len(calls))]


def champion_consistent(uri: str) -> Callable[[], dict[str, Any]]:
    """A reader of the champion alias and the audit trail's view of it."""
    def read() -> dict[str, Any]:
        client = tracking.registry_client(uri)
        entries = registry.history(client, DATASET)
        return {"alias": registry.alias_version(client, DATASET, registry.CHAMPION),
                "lineage": registry.champion_lineage(entries), "entries": entries}
    return read
