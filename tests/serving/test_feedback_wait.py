"""Feedback that beats its prediction's log row waits a bounded time, asleep on the event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from homeprice.errors import NotFoundError, UnavailableError
from homeprice.predictionlog import metadata
from homeprice.predictionlog.feedback import prediction_dataset
from homeprice.serving.pricing import PricingService


class _LaggingLog:
    """A prediction log whose writer is behind: rows queued, none written yet."""

    def __init__(self, path: Path, queued: int) -> None:
        self._engine = sa.create_engine(f"sqlite:///{path}")
        metadata.create_all(self._engine)
        self.queue_depth = queued
        self.spill_records = 0

    def dataset_of(self, prediction_id: str) -> str | None:
        return prediction_dataset(self._engine, prediction_id)

    def add_feedback(self, *args: Any) -> None:
        raise AssertionError("no feedback may be stored for a prediction not yet logged")


def _service(log: _LaggingLog) -> PricingService:
    return PricingService([], store=None, router=None, prediction_log=log,  # type: ignore[arg-type]
                          metrics=None, shadow=None)  # type: ignore[arg-type]


def test_the_wait_is_bounded_and_leaves_the_event_loop_free(tmp_path: Path) -> None:
    service = _service(_LaggingLog(tmp_path / "log.db", queued=5))
    ticks = 0

    async def scenario() -> float:
        nonlocal ticks

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(ticker())
        started = time.monotonic()
        try:
            with pytest.raises(UnavailableError, match="not in the log yet"):
                await service.record_feedback("california", "abc", 450_000, wait=0.5)
        finally:
            beat.cancel()
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert 0.5 <= elapsed < 2.0
    # The loop kept running other work while the feedback waited (about 50 ticks in 0.5 s).
    assert ticks >= 10


def test_an_unknown_id_is_404_after_the_bounded_wait_when_nothing_is_queued(
        tmp_path: Path) -> None:
    # (With several workers the row may be queued in another process: hence the wait.)
    service = _service(_LaggingLog(tmp_path / "log.db", queued=0))
    started = time.monotonic()
    with pytest.raises(NotFoundError, match="unknown prediction_id"):
        asyncio.run(service.record_feedback("california", "abc", 450_000, wait=0.3))
    assert 0.3 <= time.monotonic() - started < 1.5
