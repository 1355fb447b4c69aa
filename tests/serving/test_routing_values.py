"""The traffic router's exact values: the split hash, each route, the change log line, and the
shadow pool's bounds, threads and failure handling (no server, no model: fast)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import pytest

from homeprice.config import TrafficSettings
from homeprice.serving.routing import (
    CHALLENGER,
    CHAMPION,
    Route,
    ShadowPool,
    TrafficRouter,
    assign,
)


def _position(key: str) -> float:
    """Where `key` falls in [0, 1): the first 8 bytes of its BLAKE2b digest, big-endian."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@pytest.mark.parametrize("key", ["client-1", "client-2", "Zoë", "\ud800 lone surrogate"])
def test_assignment_is_the_documented_hash(key: str) -> None:
    # Guards: the split is BLAKE2b-64 of the UTF-8 key (lone surrogates passed through, as a
    # header can carry them) mapped to [0, 1): a client is the challenger's exactly when its
    # position is below the share, so every server process agrees without coordination.
    position = _position(key)
    assert assign(key, position) == CHAMPION  # below, not at
    assert assign(key, min(1.0, position + 1e-9)) == CHALLENGER
    assert (assign(key, 0.0), assign(key, 1.0)) == (CHAMPION, CHALLENGER)


def _router(mode: str, share: float = 0.25, challenger: bool = True,
            on_change=None) -> TrafficRouter:
    return TrafficRouter({"california": TrafficSettings(mode=mode, share=share)},
                         ["california"], lambda dataset: challenger, on_change=on_change)


def test_routes_are_exact() -> None:
    # Guards: each mode's whole route (who answers, whether the challenger shadows, the mode
    # in effect), and that a split client is never also shadowed.
    key = next(f"c{i}" for i in range(1000) if _position(f"c{i}") < 0.25)
    assert _router("split").route("california", key) == Route(CHALLENGER, False, "split")
    other = next(f"c{i}" for i in range(1000) if _position(f"c{i}") >= 0.25)
    assert _router("split").route("california", other) == Route(CHAMPION, False, "split")
    assert _router("shadow").route("california", key) == Route(CHAMPION, True, "shadow")
    assert _router("auto").route("california", key) == Route(CHAMPION, True, "shadow")
    assert _router("auto", challenger=False).route("california", key) == Route(
        CHAMPION, False, "off")


def test_effective_mode_asks_whether_a_challenger_is_loaded() -> None:
    # Guards: effective() resolves auto by the dataset's challenger, and reads that dataset.
    asked: list[str] = []

    def has_challenger(dataset: str) -> bool:
        asked.append(dataset)
        return dataset == "california"

    router = TrafficRouter({}, ["california", "bengaluru"], has_challenger)
    assert (router.effective("california"), router.effective("bengaluru")) == ("shadow", "off")
    assert asked == ["california", "bengaluru"]
    with pytest.raises(KeyError):
        router.effective("texas")


def test_a_change_is_logged_old_and_new(caplog: pytest.LogCaptureFixture) -> None:
    # Guards: the operator's record of a traffic change names the dataset, the old and the new
    # setting, and the share only where it matters (split).
    heard: list[tuple[str, str]] = []
    router = _router("off", on_change=lambda d, s: heard.append((d, s.mode)))
    with caplog.at_level(logging.INFO, logger="homeprice.serving.routing"):
        router.set("california", "split", 0.25)
        router.set("california", "shadow")
    assert [r.getMessage() for r in caplog.records] == [
        "traffic of california: off -> split (share 0.25)",
        "traffic of california: split (share 0.25) -> shadow"]
    assert heard == [("california", "off"), ("california", "split"), ("california", "shadow")]


def test_shadow_pool_bounds() -> None:
    # Guards: max_rows must be at least 1 (1 is allowed); by default the backlog holds 10,000
    # homes, and a job weighs one home unless told otherwise.
    with pytest.raises(ValueError, match="max_rows must be at least 1, got 0"):
        ShadowPool(max_rows=0)
    ShadowPool(max_rows=1).close()
    release = threading.Event()
    pool = ShadowPool()
    try:
        assert pool.submit(release.wait) and pool.pending == 1
        assert not pool.submit(release.wait, rows=10_000)
        assert pool.submit(release.wait, rows=9_999) and pool.pending == 10_000
    finally:
        release.set()
        pool.close()
    assert pool.pending == 0


def test_shadow_pool_runs_jobs_on_its_own_named_threads() -> None:
    # Guards: the job itself runs (not a stand-in), on "homeprice-shadow" threads, at most
    # `workers` at a time.
    names: list[str] = []
    running, most = 0, 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            names.append(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running -= 1

    pool = ShadowPool(workers=1)
    for _ in range(4):
        assert pool.submit(job)
    pool.close()
    assert len(names) == 4 and most == 1
    assert all(name.startswith("homeprice-shadow") for name in names)


def test_default_pool_runs_two_jobs_at_once() -> None:
    # Guards: the default pool has two workers: two jobs that wait for each other both finish.
    barrier = threading.Barrier(2, timeout=10)
    done: list[int] = []
    pool = ShadowPool()
    for i in range(2):
        pool.submit(lambda i=i: (barrier.wait(), done.append(i)))
    pool.close()
    assert sorted(done) == [0, 1]


def test_a_failing_shadow_job_is_logged_and_frees_its_rows(
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards: a job's exception is logged with its stack trace, and its homes leave the backlog.
    def job() -> None:
        raise RuntimeError("challenger exploded")

    pool = ShadowPool(max_rows=5)
    with caplog.at_level(logging.ERROR, logger="homeprice.serving.routing"):
        assert pool.submit(job, rows=5)
        pool.close()
    assert pool.pending == 0
    failed = [r for r in caplog.records if r.getMessage() == "shadow job failed"]
    assert len(failed) == 1 and "challenger exploded" in str(failed[0].exc_info[1])
