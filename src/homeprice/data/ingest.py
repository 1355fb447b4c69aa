"""The fetch step: source file -> raw zone of the lake, with a manifest entry."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.data.sources import default_source, materialise, read_table
from homeprice.datasets import Dataset
from homeprice.datasets.catalogue import scraped_dataset_names
from homeprice.errors import DataValidationError


@dataclass(frozen=True)
class FetchResult:
    """What the fetch step stored."""

    dataset: str
    sha256: str
    rows: int
    path: str
    source: str
    manifest_entry: dict[str, Any]
    # True when these bytes were not in the lake before: orchestrators announce new data on it.
    new: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, without the manifest entry (it is in the lake)."""
        return {"dataset": self.dataset, "sha256": self.sha256, "rows": self.rows,
                "path": self.path, "source": self.source, "new": self.new}


def fetch(
    dataset: Dataset,
    settings: Settings,
    source: str | None = None,
    sha256: str | None = None,
    full: bool = False,
) -> FetchResult:
    """Copy or download a dataset's source, verify its checksum and store it in the raw zone.

    A scraped dataset's source is the scraper: without an explicit source its latest raw table
    (written by `homeprice scrape`) is the one fetched, and only when there is none yet does
    it fall back to its data folder or bundled sample.
    """
    if source is None and dataset.name in scraped_dataset_names():
        scraped = _latest_scraped(dataset, Lake(settings.lake_root))
        if scraped is not None:
            return scraped
    if source is None:
        source, expected = default_source(dataset, settings, full=full)
        sha256 = sha256 or expected
    with tempfile.TemporaryDirectory(prefix="homeprice-fetch-") as tmp:
        local = materialise(source, Path(tmp), dataset.source.filename, sha256)
        frame = read_table(local.path, label=source)
        if frame.empty:
            raise DataValidationError(f"{source}: the file has no data rows")
        lake = Lake(settings.lake_root)
        new = local.sha256 not in lake.raw_manifest(dataset.name).get("entries", {})
        entry = lake.write_raw(dataset.name, local.sha256, frame, source)
    return FetchResult(dataset=dataset.name, sha256=local.sha256, rows=len(frame),
                       path=entry["path"], source=source, manifest_entry=entry, new=new)


def _latest_scraped(dataset: Dataset, lake: Lake) -> FetchResult | None:
    """The latest raw table the scraper wrote for `dataset`, as a fetch result (not new)."""
    manifest = lake.raw_manifest(dataset.name)
    latest = manifest.get("latest")
    entry = manifest.get("entries", {}).get(latest) if latest else None
    if entry is None or not str(entry.get("source", "")).startswith("scrape:"):
        return None
    entry = lake.raw_entry(dataset.name, latest)
    return FetchResult(dataset=dataset.name, sha256=latest, rows=int(entry["rows"]),
                       path=entry["path"], source=entry["source"], manifest_entry=entry,
                       new=False)
