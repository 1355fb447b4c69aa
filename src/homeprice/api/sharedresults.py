"""Costly read-only views computed once and shared: results are kept for a short TTL, callers
arriving while a computation runs wait for that one (single flight), and at most N distinct
computations run at once; beyond that, callers are refused at once (BusyError, 503) instead of
queueing for the worker threads that /predict needs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from homeprice.errors import BusyError


class SharedResults:
    """TTL cache with single flight and a cap on concurrent computations (one event loop)."""

    # Bounds memory when callers vary parameters (e.g. /traffic?minutes=1..10080).
    MAX_ENTRIES = 256

    def __init__(self, ttl_seconds: float, max_concurrent: int,
                 on_compute: Callable[[str], None] = lambda view: None,
                 on_busy: Callable[[str], None] = lambda view: None) -> None:
        self.ttl = ttl_seconds
        self.max_concurrent = max_concurrent
        self._on_compute = on_compute
        self._on_busy = on_busy
        self._results: dict[Hashable, tuple[float, Any]] = {}
        self._running: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, view: str, key: Hashable, compute: Callable[[], Any], *,
                  cache: bool = True) -> Any:
        """The result of `compute()` (run in a worker thread) for `(view, key)`: cached (unless
        `cache` is false), shared with a running computation, or computed now if a slot is
        free."""
        full_key = (view, key)
        cached = self._results.get(full_key) if cache else None
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        running = self._running.get(full_key)
        if running is None:
            if len(self._running) >= self.max_concurrent:
                self._on_busy(view)
                raise BusyError(f"too many {view} views are being computed; retry shortly",
                                retry_after=max(1, round(self.ttl)) if self.ttl else 1)
            running = asyncio.ensure_future(self._compute(view, full_key, compute, cache))
            self._running[full_key] = running
        # Shielded: a caller that disconnects must not cancel the others' computation.
        return await asyncio.shield(running)

    async def _compute(self, view: str, full_key: Hashable, compute: Callable[[], Any],
                       cache: bool) -> Any:
        self._on_compute(view)
        try:
            value = await run_in_threadpool(compute)
            if cache and self.ttl > 0:
                self._store(full_key, value)
            return value
        finally:
            # Failures are not cached: the next caller tries again.
            del self._running[full_key]

    def _store(self, full_key: Hashable, value: Any) -> None:
        now = time.monotonic()
        if len(self._results) >= self.MAX_ENTRIES:
            self._results = {k: v for k, v in self._results.items() if v[0] > now}
            while len(self._results) >= self.MAX_ENTRIES:
                del self._results[next(iter(self._results))]
        self._results[full_key] = (now + self.ttl, value)
