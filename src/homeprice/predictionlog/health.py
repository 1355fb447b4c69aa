"""The prediction log's health as serving reports it: state, last error class, backlog sizes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

LogState = Literal["ok", "degraded", "down"]
LOG_STATES: tuple[LogState, ...] = ("ok", "degraded", "down")


@dataclass(frozen=True, slots=True)
class LogHealth:
    """A snapshot of the writer: can it write, and what waits or was lost.

    state: "down" while the last write attempt failed for a reason other than the rows
    themselves (an outage, a missing table, a full disk); "degraded" while it writes but
    records wait in the spill files (or the queue overflowed into them); "ok" otherwise.
    """

    state: LogState
    # The class of the latest write failure (never its message: it may carry a URL or data).
    last_error: str | None
    # Seconds since the first failed write of the outage in progress (None: not failing).
    failing_for_seconds: float | None
    queue_depth: int
    spill_records: int
    spill_bytes: int
    written: int
    spilled: int
    replayed: int
    dropped: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields, for the /readyz body."""
        return asdict(self)
