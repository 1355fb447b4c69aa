"""Local overflow of the prediction log: append-only JSON-lines files written when the queue is
full, read back in order into the database once it answers again.

Each process appends to its own file (`spill-<pid>-<time>-<random>.jsonl`) and holds an
exclusive `flock` on it while it does, so another process (a sibling worker, or a restarted
server) replays only files nobody writes any more. Sealing a file (closing it) hands it over to
replay; a fully replayed file is deleted.

Durability: every append is written through to the kernel at once (so a crashed or killed
process loses nothing), and fsynced at most once per `fsync_interval` by the writer thread and
when a file is sealed, never under the lock the request path takes. A per-record fsync would
put a disk flush (milliseconds) on the request path, which is exactly what spilling exists to
avoid; the price is that a power loss or kernel crash may lose the last second of spilled
records, as SQLite's synchronous=NORMAL does for the database itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger(__name__)

SPILL_GLOB = "spill-*.jsonl"


def encode(row: dict[str, Any]) -> bytes:
    """One prediction_logs row as a JSON line (timestamps in RFC 3339 with their offset)."""
    return orjson.dumps(row) + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """The prediction_logs row of a JSON line written by `encode` (ValueError if it is not)."""
    row = orjson.loads(line)
    if not isinstance(row, dict) or "prediction_id" not in row or "ts" not in row:
        raise ValueError("not a prediction_logs row")
    row["ts"] = datetime.fromisoformat(row["ts"])
    # Lines spilled before the mode column existed: unknown mode, as their rows in the log.
    row.setdefault("mode", None)
    return row


@dataclass
class SealedFile:
    """A spill file nobody appends to any more, locked by this process while it replays it."""

    path: Path
    handle: IO[bytes]
    # Lines of the file already written to the database by this process (resume point).
    done: int = 0
    # Unreadable lines already counted as dropped (a retried replay must not count them again).
    bad: set[int] = field(default_factory=set)

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """(line number, row) from the resume point on; row is None for an unreadable line."""
        self.handle.seek(0)
        for number, line in enumerate(self.handle):
            if number < self.done:
                continue
            if not line.endswith(b"\n"):
                # A torn last line: the process died mid-append.
                yield number, None
                continue
            try:
                yield number, decode(line)
            except ValueError:
                yield number, None

    def remove(self) -> None:
        """Delete the fully replayed file (then release its lock)."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self.handle.close()

    def release(self) -> None:
        """Keep the file for a later replay (this process or the next one)."""
        self.handle.close()


class SpillDirectory:
    """This process's spill file and the replay of every sealed file in the folder.

    Not thread-safe: the caller (the batch writer) serialises calls with its own lock, except
    for `fsync`, `close_detached`, `sealed_files`, `claim` and SealedFile reads, which only the
    writer thread (or close) makes, on files no append can reach any more.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._handle: IO[bytes] | None = None
        self._path: Path | None = None
        # This process's files not replayed yet: path -> [lines, bytes]. The cap applies to
        # their bytes; their lines are the records still waiting for the database.
        self._own: dict[Path, list[int]] = {}
        # Their totals, kept up to date: read on every append and every metrics scrape.
        self._records = 0
        self._bytes = 0
        self._unsynced = False
        self._last_sync = time.monotonic()
        # Files whose folder entry was fsynced (done once per file, by the writer thread).
        self._synced_names: set[Path] = set()

    @property
    def bytes(self) -> int:
        """Bytes this process spilled that are not replayed yet."""
        return self._bytes

    @property
    def records(self) -> int:
        """Records this process spilled that are not replayed yet."""
        return self._records

    @property
    def current(self) -> Path | None:
        """The file this process appends to now, if any."""
        return self._path

    def append(self, lines: list[bytes]) -> int:
        """Append the lines that fit under the cap; the number appended (OSError on failure)."""
        fitting: list[bytes] = []
        size = 0
        used = self._bytes
        for line in lines:
            if used + size + len(line) > self.max_bytes:
                break
            fitting.append(line)
            size += len(line)
        if not fitting:
            return 0
        handle = self._open()
        # One write call per batch of lines, through to the kernel at once (unbuffered).
        handle.write(b"".join(fitting))
        own = self._own.setdefault(self._path, [0, 0])  # type: ignore[arg-type]
        own[0] += len(fitting)
        own[1] += size
        self._records += len(fitting)
        self._bytes += size
        self._unsynced = True
        return len(fitting)

    def _open(self) -> IO[bytes]:
        if self._handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"spill-{os.getpid()}-{time.time_ns()}-{secrets.token_hex(4)}.jsonl"
            path = self.folder / name
            handle = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open until sealed
            # Held while this process appends: a sibling replays only sealed files.
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._handle, self._path = handle, path
        return self._handle

    def sync_due(self, interval: float) -> tuple[int, bool] | None:
        """With the caller's lock: when the open file's fsync is due (unsynced appends, and
        `interval` seconds since the last), a duplicate of its descriptor and whether its folder
        entry is new; the caller runs `fsync` on them after releasing the lock."""
        if self._handle is None or not self._unsynced:
            return None
        now = time.monotonic()
        if now - self._last_sync < interval:
            return None
        self._unsynced = False
        self._last_sync = now
        new_name = self._path not in self._synced_names
        self._synced_names.add(self._path)  # type: ignore[arg-type]
        return os.dup(self._handle.fileno()), new_name

    def detach(self) -> tuple[IO[bytes], bool] | None:
        """With the caller's lock: take the open file away, handing it over to replay once
        closed (the next append opens a new one); the caller runs `close_detached` on it after
        releasing the lock."""
        if self._handle is None:
            return None
        detached = self._handle, self._path not in self._synced_names
        self._handle, self._path = None, None
        self._unsynced = False
        return detached

    def fsync(self, fd: int, folder_too: bool) -> None:
        """fsync (and close) a descriptor from `sync_due`, and the folder when asked.

        Outside the caller's lock: an fsync takes milliseconds, more on a busy disk, and the
        request path must never wait for it.
        """
        try:
            os.fsync(fd)
            if folder_too:
                # A new file's name must survive a power loss too, not only its bytes.
                folder = os.open(self.folder, os.O_RDONLY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)
        finally:
            os.close(fd)

    def close_detached(self, detached: tuple[IO[bytes], bool]) -> None:
        """fsync and close a file from `detach` (releasing its lock: it is sealed)."""
        handle, folder_too = detached
        try:
            self.fsync(os.dup(handle.fileno()), folder_too)
        finally:
            handle.close()

    def forget(self, path: Path) -> int:
        """A file fully replayed (and removed): its lines if this process wrote it, else 0."""
        self._synced_names.discard(path)
        lines, size = self._own.pop(path, [0, 0])
        self._records -= lines
        self._bytes -= size
        return lines

    def forget_missing(self) -> None:
        """Forget this process's sealed files another process replayed (and removed)."""
        for path in [p for p in self._own if p != self._path and not p.exists()]:
            self.forget(path)

    def sealed_files(self) -> list[Path]:
        """Spill files in the folder other than the one this process appends to, oldest first."""
        try:
            paths = [p for p in self.folder.glob(SPILL_GLOB) if p != self._path]
        except OSError:
            return []
        # Names start with the pid, so order by the creation time in the name, then the name.
        return sorted(paths, key=_created)

    def claim(self, path: Path) -> SealedFile | None:
        """Lock a sealed file for replay; None if another process holds it or it is gone."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 - owned by the SealedFile
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Another process may have replayed and deleted it between open and lock.
            if os.fstat(handle.fileno()).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except OSError:
            handle.close()
            return None
        return SealedFile(path, handle)


def _created(path: Path) -> tuple[int, str]:
    parts = path.stem.split("-")
    try:
        return int(parts[2]), path.name
    except (IndexError, ValueError):
        return 0, path.name
