"""Champion/challenger traffic: which model answers a request, and shadow scoring off the
request path.

Assignment in `split` mode is a stable hash of the client's key mapped to [0, 1): the same
client always sees the same model (in every server process, across restarts), and raising the
share only moves champion clients to the challenger, never the other way round.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from homeprice import registry
from homeprice.config import TrafficMode, TrafficSettings
from homeprice.serving.trafficstore import TrafficStore

log = logging.getLogger(__name__)

Variant = Literal["champion", "challenger"]
CHAMPION: Variant = "champion"
CHALLENGER: Variant = "challenger"
assert (CHAMPION, CHALLENGER) == (registry.CHAMPION, registry.CHALLENGER)
# The variant logged for a prediction made in shadow (computed, logged, never returned).
SHADOW = "shadow"
_SCALE = float(2**64)


def assign(client_key: str, share: float) -> Variant:
    """The variant of a client in `split` mode: the challenger for a `share` of all keys."""
    digest = hashlib.blake2b(client_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return CHALLENGER if int.from_bytes(digest, "big") / _SCALE < share else CHAMPION


@dataclass(frozen=True)
class Route:
    """Where one request goes: the alias that answers, and whether the challenger shadows it."""

    answer: Variant
    shadow: bool
    mode: str


class TrafficRouter:
    """The traffic mode of each dataset: set from the settings, changeable at run time.

    With a `store` (several worker processes), a change is saved there and `sync()` takes the
    changes other workers saved; `on_change` hears every setting taken (metrics).
    """

    def __init__(self, traffic: Mapping[str, TrafficSettings], datasets: Iterable[str],
                 has_challenger: Callable[[str], bool], store: TrafficStore | None = None,
                 on_change: Callable[[str, TrafficSettings], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = {d: (traffic.get(d) or TrafficSettings()).model_copy()
                          for d in datasets}
        self._has_challenger = has_challenger
        self._store = store
        self._on_change = on_change or (lambda dataset, setting: None)
        for dataset, setting in self._settings.items():
            self._on_change(dataset, setting)

    def setting(self, dataset: str) -> TrafficSettings:
        """The current setting of `dataset` (KeyError for a dataset not served)."""
        with self._lock:
            return self._settings[dataset]

    def set(self, dataset: str, mode: TrafficMode, share: float | None = None
            ) -> TrafficSettings:
        """Change the mode (and share, when given) of `dataset`; the new setting."""
        with self._lock:
            current = self._settings[dataset]
            # Validated like the configuration (share in [0, 1], a known mode).
            new = TrafficSettings(mode=mode, share=current.share if share is None else share)
            if self._store is not None:
                # Under the lock: two changes in this worker reach the store in their order.
                self._store.save(dataset, new)
            self._take(dataset, current, new)
        return new

    def sync(self) -> None:
        """Take the settings other workers saved to the store (on every reload poll)."""
        if self._store is None:
            return
        for dataset in list(self._settings):
            shared = self._store.load(dataset)
            with self._lock:
                current = self._settings[dataset]
                if shared is not None and shared != current:
                    self._take(dataset, current, shared)

    def _take(self, dataset: str, current: TrafficSettings, new: TrafficSettings) -> None:
        # Called under the lock.
        self._settings[dataset] = new  # replaced, never mutated: readers keep a whole one
        self._on_change(dataset, new)
        log.info("traffic of %s: %s -> %s", dataset, _describe(current), _describe(new))

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Every dataset's mode and share, for GET /v1/models."""
        with self._lock:
            settings = dict(self._settings)
        return {d: s.model_dump() for d, s in settings.items()}

    def route(self, dataset: str, client_key: str) -> Route:
        """Where a request of the client with `client_key` goes now."""
        setting = self.setting(dataset)
        if setting.mode == "off" or not self._has_challenger(dataset):
            # Split or shadow without a challenger loaded: the champion takes everything.
            return Route(CHAMPION, False, "off")
        if setting.mode == "shadow":
            return Route(CHAMPION, True, "shadow")
        return Route(assign(client_key, setting.share), False, "split")

    def variant_for(self, dataset: str, client_id: str | None, prediction_id: str) -> Variant:
        """The alias that answers: by X-Client-Id, or by the prediction id when absent."""
        return self.route(dataset, client_id or prediction_id).answer


def _describe(setting: TrafficSettings) -> str:
    return f"{setting.mode} (share {setting.share:g})" if setting.mode == "split" else setting.mode


class ShadowPool:
    """A few background threads that run shadow scoring, with a backlog bounded in homes.

    Jobs never run on the request path; when the challenger cannot keep up, new jobs are
    refused (and their homes counted by the caller) rather than piling up in memory. The bound
    counts homes, not jobs: a batch of 1,000 homes weighs 1,000, as its memory and work do.
    """

    def __init__(self, workers: int = 2, max_rows: int = 10_000) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._workers = workers
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._pending = 0
        self._executor: ThreadPoolExecutor | None = None

    @property
    def pending(self) -> int:
        """Homes of the jobs queued or running."""
        with self._lock:
            return self._pending

    def submit(self, job: Callable[[], None], rows: int = 1) -> bool:
        """Run `job` (scoring `rows` homes) in the background; False (job dropped) when its
        homes do not fit in the backlog."""
        with self._lock:
            if self._pending + rows > self._max_rows:
                return False
            if self._executor is None:  # created lazily: an app may be started again
                self._executor = ThreadPoolExecutor(self._workers,
                                                    thread_name_prefix="homeprice-shadow")
            # Under the lock: close() must not shut the executor down between these lines.
            self._executor.submit(self._run, job, rows)
            self._pending += rows
        return True

    def _run(self, job: Callable[[], None], rows: int) -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - jobs handle their own errors; this is the last guard
            log.exception("shadow job failed")
        finally:
            with self._lock:
                self._pending -= rows

    def close(self) -> None:
        """Finish every job submitted so far (so its rows reach the log), then stop the threads."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
