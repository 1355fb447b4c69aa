"""The content-addressed data lake on a local path or any fsspec URL.

Layout under the lake root:
  raw/<dataset>/<sha256>.parquet     source rows as text, keyed by the source file's sha256
  raw/<dataset>/manifest.json        every ingested source: sha256, source, rows, columns,
                                     fetched_at
  clean/<dataset>/<version>.parquet  cleaned model inputs; version derives from raw sha256 + rules
  clean/<dataset>/<version>.json     the cleaning report (rows in, dropped by reason, rows out)
  clean/<dataset>/manifest.json      every clean version and the latest
  split/<dataset>/<key>/<part>.parquet  train / calibration / test of a clean version; the key
                                     derives from the clean version and the split settings
  split/<dataset>/<key>/split.json   what the split was made from and its sizes
  scrape/<dataset>/<site>/...        a scraper's state: seen listing ids, page cursor, pages
                                     of the run in progress (homeprice.scraping.state)
  quarantine/<dataset>/<run>.parquet scraped rows that failed parsing, with their reason
Every file is written to a temporary name and moved into place, so readers never see half a file.
Manifests are read, updated and written back under an inter-process file lock, so concurrent
fetches and cleans never lose each other's entries.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
from filelock import FileLock, Timeout
from fsspec.implementations.local import LocalFileSystem

from homeprice.errors import LakeError
from homeprice.masking import mask_url

# Manifest updates take milliseconds; a lock held this long belongs to a stuck process.
MANIFEST_LOCK_TIMEOUT = 120.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Lake:
    """Reads and writes the lake's raw and clean zones."""

    def __init__(self, root: str) -> None:
        # `url` names the lake in messages and lineage: without a password an object-store
        # URL may carry.
        self.url = mask_url(root)
        self.fs, self.root = fsspec.core.url_to_fs(root)
        self.local = isinstance(self.fs, LocalFileSystem)

    # -- paths -----------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def raw_path(self, dataset: str, sha256: str) -> str:
        """Path of one raw table inside the lake."""
        return self._path("raw", dataset, f"{sha256}.parquet")

    def clean_path(self, dataset: str, version: str) -> str:
        """Path of one clean table inside the lake."""
        return self._path("clean", dataset, f"{version}.parquet")

    def url_of(self, path: str) -> str:
        """Full URL (with protocol) of a lake path, for logging and lineage."""
        return self.fs.unstrip_protocol(path)

    # -- atomic writes -----------------------------------------------------------------------
    def _write_bytes(self, path: str, payload: bytes) -> None:
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        temp = f"{path}.tmp-{uuid.uuid4().hex}"
        with self.fs.open(temp, "wb") as handle:
            handle.write(payload)
        if self.local:
            # os.replace swaps the file in one step, also over an existing one.
            os.replace(temp, path)
        else:
            self.fs.mv(temp, path)

    def _write_parquet(self, path: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self._write_bytes(path, buffer.getvalue())

    def _read_json(self, path: str) -> dict[str, Any]:
        if not self.fs.exists(path):
            return {}
        with self.fs.open(path, "rb") as handle:
            return json.loads(handle.read())

    def _write_json(self, path: str, payload: dict[str, Any]) -> None:
        self._write_bytes(path, json.dumps(payload, indent=2, default=str).encode())

    # -- manifest updates ------------------------------------------------------------------
    def _lock_path(self, path: str) -> Path:
        """The lock file guarding `path`: beside it on a local lake; for a remote lake, in the
        local temp folder, keyed by the file's URL (so it orders the processes of this machine
        only: object stores offer no lock to share)."""
        if self.local:
            return Path(f"{path}.lock")
        key = hashlib.sha256(self.fs.unstrip_protocol(path).encode()).hexdigest()[:32]
        return Path(tempfile.gettempdir()) / "homeprice-lake-locks" / f"{key}.lock"

    @contextmanager
    def _updating(self, path: str) -> Iterator[dict[str, Any]]:
        """The JSON document at `path` ({} when absent) to change in place; written back
        atomically when the block succeeds, with no other update in between."""
        lock_path = self._lock_path(path)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(lock_path, timeout=MANIFEST_LOCK_TIMEOUT):
                document = self._read_json(path)
                yield document
                self._write_json(path, document)
        except Timeout:
            raise LakeError(f"{self.fs.unstrip_protocol(path)} stayed locked for "
                            f"{MANIFEST_LOCK_TIMEOUT:.0f} s by another process; if none is "
                            f"running, delete the lock file {lock_path}") from None

    # -- raw zone --------------------------------------------------------------------------
    def raw_manifest(self, dataset: str) -> dict[str, Any]:
        """The raw manifest of a dataset ({} when nothing was ingested)."""
        return self._read_json(self._path("raw", dataset, "manifest.json"))

    def write_raw(self, dataset: str, sha256: str, frame: pd.DataFrame, source: str
                  ) -> dict[str, Any]:
        """Store source rows under their sha256 (once) and record the fetch in the manifest."""
        path = self.raw_path(dataset, sha256)
        if not self.fs.exists(path):
            self._write_parquet(path, frame.astype("string"))
        with self._updating(self._path("raw", dataset, "manifest.json")) as manifest:
            entries: dict[str, Any] = manifest.setdefault("entries", {})
            now = _now()
            entry = entries.get(sha256) or {
                "sha256": sha256,
                "path": self.url_of(path),
                "rows": len(frame),
                "columns": [str(c) for c in frame.columns],
                "fetched_at": now,
                "sources": [],
            }
            if source not in entry["sources"]:
                entry["sources"].append(source)
            entry["source"] = source
            entry["last_fetched_at"] = now
            entries[sha256] = entry
            manifest["dataset"] = dataset
            manifest["latest"] = sha256
        return entry

    def raw_entry(self, dataset: str, sha256: str | None = None) -> dict[str, Any]:
        """Manifest entry of a raw table (the latest when sha256 is None)."""
        manifest = self.raw_manifest(dataset)
        sha256 = sha256 or manifest.get("latest")
        if not sha256:
            raise LakeError(f"no raw data for {dataset!r} in {self.url}; "
                            f"run `homeprice data fetch --dataset {dataset}` first")
        entry = manifest.get("entries", {}).get(sha256)
        if entry is None or not self.fs.exists(self.raw_path(dataset, sha256)):
            raise LakeError(f"raw data {sha256} of {dataset!r} is not in the lake {self.url}")
        return entry

    def read_raw(self, dataset: str, sha256: str) -> pd.DataFrame:
        """Source rows of one raw table, as text (missing values as None/NaN)."""
        with self.fs.open(self.raw_path(dataset, sha256), "rb") as handle:
            frame = pd.read_parquet(handle)
        return frame.astype(object).where(frame.notna(), None)

    # -- clean zone ------------------------------------------------------------------------
    def write_clean(self, dataset: str, version: str, frame: pd.DataFrame,
                    report: dict[str, Any]) -> dict[str, Any]:
        """Store a clean table with its report and make it the latest version."""
        path = self.clean_path(dataset, version)
        self._write_parquet(path, frame)
        self._write_json(self._path("clean", dataset, f"{version}.json"), report)
        entry = {"version": version, "path": self.url_of(path), "rows": len(frame),
                 "raw_sha256": report.get("raw_sha256"), "created_at": _now()}
        with self._updating(self._path("clean", dataset, "manifest.json")) as manifest:
            manifest.setdefault("versions", {})[version] = entry
            manifest["dataset"] = dataset
            manifest["latest"] = version
        return entry

    def clean_entry(self, dataset: str, version: str | None = None) -> dict[str, Any]:
        """Manifest entry of a clean version (the latest when version is None)."""
        manifest = self._read_json(self._path("clean", dataset, "manifest.json"))
        version = version or manifest.get("latest")
        entry = manifest.get("versions", {}).get(version) if version else None
        if entry is None:
            raise LakeError(f"no clean data {version or ''} for {dataset!r} in {self.url}; "
                            f"run `homeprice data clean --dataset {dataset}` first")
        return entry

    def clean_report(self, dataset: str, version: str) -> dict[str, Any]:
        """The cleaning report stored beside a clean version."""
        return self._read_json(self._path("clean", dataset, f"{version}.json"))

    def read_clean(self, dataset: str, version: str) -> pd.DataFrame:
        """A clean table."""
        with self.fs.open(self.clean_path(dataset, version), "rb") as handle:
            return pd.read_parquet(handle)

    # -- documents and tables of other zones (scraper state, quarantine) ---------------------
    def path(self, *parts: str) -> str:
        """Path of a file inside the lake, from its parts (e.g. "scrape", dataset, "state.json")."""
        return self._path(*parts)

    def exists(self, *parts: str) -> bool:
        """Whether the lake holds the file or folder at `parts`."""
        return bool(self.fs.exists(self._path(*parts)))

    def read_document(self, *parts: str) -> dict[str, Any]:
        """A JSON document ({} when absent)."""
        return self._read_json(self._path(*parts))

    def write_document(self, payload: dict[str, Any], *parts: str) -> None:
        """Replace a JSON document atomically."""
        self._write_json(self._path(*parts), payload)

    def write_table(self, frame: pd.DataFrame, *parts: str) -> str:
        """Replace a Parquet table atomically; its full URL."""
        path = self._path(*parts)
        self._write_parquet(path, frame)
        return self.url_of(path)

    def read_table(self, *parts: str) -> pd.DataFrame:
        """A Parquet table."""
        with self.fs.open(self._path(*parts), "rb") as handle:
            return pd.read_parquet(handle)

    def remove(self, *parts: str) -> None:
        """Delete a file or a folder with its contents (nothing when absent)."""
        path = self._path(*parts)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    @contextmanager
    def exclusive(self, *parts: str) -> Iterator[None]:
        """Hold the lock of `parts` for a long operation; LakeError at once if another process
        holds it (two scrapers of one site would fetch every page twice)."""
        lock_path = self._lock_path(self._path(*parts))
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(lock_path, timeout=0):
                yield
        except Timeout:
            raise LakeError(f"{self.url_of(self._path(*parts))} is in use by another process; "
                            f"if none is running, delete the lock file {lock_path}") from None

    # -- split zone ------------------------------------------------------------------------
    SPLIT_PARTS = ("train", "calibration", "test")

    def split_path(self, dataset: str, key: str, part: str) -> str:
        """Path of one part of a materialised split."""
        return self._path("split", dataset, key, f"{part}.parquet")

    def split_entry(self, dataset: str, key: str) -> dict[str, Any] | None:
        """The record of a materialised split (None when it was not written)."""
        entry = self._read_json(self._path("split", dataset, key, "split.json"))
        if not entry or not all(self.fs.exists(self.split_path(dataset, key, part))
                                for part in self.SPLIT_PARTS):
            return None
        return entry

    def write_split(self, dataset: str, key: str, parts: dict[str, pd.DataFrame],
                    record: dict[str, Any]) -> dict[str, Any]:
        """Store a split's parts, then its record (written last: it marks the split complete)."""
        for part in self.SPLIT_PARTS:
            self._write_parquet(self.split_path(dataset, key, part), parts[part])
        entry = record | {"key": key, "created_at": _now(),
                          "paths": {part: self.url_of(self.split_path(dataset, key, part))
                                    for part in self.SPLIT_PARTS}}
        self._write_json(self._path("split", dataset, key, "split.json"), entry)
        return entry

    def read_split(self, dataset: str, key: str) -> dict[str, pd.DataFrame]:
        """The parts of a materialised split."""
        parts = {}
        for part in self.SPLIT_PARTS:
            with self.fs.open(self.split_path(dataset, key, part), "rb") as handle:
                parts[part] = pd.read_parquet(handle)
        return parts
