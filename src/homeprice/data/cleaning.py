"""The validate and clean steps over the lake: raw zone -> quality report -> clean zone."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from homeprice import artifacts
from homeprice.atomic import write_text
from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.data.sources import read_table
from homeprice.data.validation import QualityReport, build_report, checked, validate
from homeprice.datasets import Dataset
from homeprice.datasets.base import CleanResult
from homeprice.errors import UserInputError

# Bump when a dataset's cleaning rules change in code, so a new clean version is written.
RULES_VERSION = "1"


@dataclass(frozen=True)
class CleanSummary:
    """The outcome of the clean step."""

    dataset: str
    version: str
    raw_sha256: str
    rows_in: int
    dropped: dict[str, int]
    rows_out: int
    notes: dict[str, Any]
    path: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return dict(vars(self))


def _write_report(settings: Settings, dataset: str, name: str, report: dict[str, Any]) -> Path:
    path = artifacts.report_path(settings.reports_dir, dataset, name)
    write_text(path, json.dumps(report, indent=2, default=str))
    return path


def validate_raw(
    dataset: Dataset, settings: Settings, input_path: str | None = None,
    raw_sha256: str | None = None, engine: str = "local",
) -> tuple[QualityReport, Path]:
    """Validate a file, or a raw table (the latest by default), on `engine` and write its
    quality report (the same report on every engine).

    Critical findings raise DataValidationError, which carries the report.
    """
    lake = Lake(settings.lake_root)
    key = None
    if input_path is not None:
        label = input_path
    else:
        entry = lake.raw_entry(dataset.name, raw_sha256)
        key, label = entry["sha256"], entry["path"]
    if engine == "local":
        raw = read_table(input_path) if key is None else lake.read_raw(dataset.name, key)
        report = build_report(raw, dataset, settings, source=label)
    else:
        from homeprice.engines import engine_for

        path = input_path if key is None else local_raw_path(lake, dataset, key, engine)
        report = engine_for(engine, settings).validate(dataset, settings, path, source=label)
    checked(report)
    payload = report.to_dict() | {"raw_sha256": key}
    name = artifacts.quality_report(key[:16] if key else Path(input_path or "input").stem)
    written = _write_report(settings, dataset.name, name, payload)
    _write_report(settings, dataset.name, artifacts.QUALITY_LATEST, payload)
    return report, written


def clean_version(raw_sha256: str, dataset: Dataset, settings: Settings) -> str:
    """Content-derived version of a clean table: same raw data and rules give the same version."""
    rules = settings.datasets.model_dump(mode="json").get(dataset.name, {})
    key = json.dumps({"raw": raw_sha256, "rules": RULES_VERSION, "params": rules}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def validate_on_engine(dataset: Dataset, settings: Settings, lake: Lake, entry: dict[str, Any],
                       engine: str) -> QualityReport:
    """The quality report of a raw table, built by `engine` (equal to `validate`'s); raises
    DataValidationError on any critical finding."""
    from homeprice.engines import engine_for

    path = local_raw_path(lake, dataset, entry["sha256"], engine)
    return checked(engine_for(engine, settings).validate(dataset, settings, path,
                                                         source=entry["path"]))


def local_raw_path(lake: Lake, dataset: Dataset, sha256: str, engine: str) -> Path:
    """Where `engine` reads a raw table: a path on this machine (local lakes only)."""
    if not lake.local:
        raise UserInputError(f"the {engine} engine reads local lakes only, not {lake.url} "
                             "(see README, Scale out with Spark: object stores)")
    return Path(lake.raw_path(dataset.name, sha256))


def clean_on_engine(dataset: Dataset, settings: Settings, lake: Lake, sha256: str,
                    engine: str) -> CleanResult:
    """The clean of a raw table by another engine than pandas in this process (its result
    equals `dataset.clean`'s); the lake must be a local folder the engine can read."""
    from homeprice.engines import engine_for

    source = local_raw_path(lake, dataset, sha256, engine)
    with tempfile.TemporaryDirectory(prefix="homeprice-clean-") as folder:
        output = Path(folder) / "clean.parquet"
        report = engine_for(engine, settings).clean(dataset, settings, source, output)
        # The clean table feeds single-node training, so it is read whole here anyway.
        data = pd.read_parquet(output)
    return CleanResult(data=data, rows_in=report.rows_in, dropped=report.dropped,
                       notes=dict(report.notes))


def clean(dataset: Dataset, settings: Settings, raw_sha256: str | None = None,
          engine: str | None = None) -> CleanSummary:
    """Validate the raw table (critical findings stop here) and write its clean version,
    cleaned by `engine` (default: the data_engine setting)."""
    lake = Lake(settings.lake_root)
    entry = lake.raw_entry(dataset.name, raw_sha256)
    engine = engine or settings.data_engine
    if engine == "local":
        raw = lake.read_raw(dataset.name, entry["sha256"])
        quality = validate(raw, dataset, settings, source=entry["path"])
        result = dataset.clean(pd.DataFrame(raw), settings)
    else:
        # Validated where it is cleaned: the raw table is never read whole on this machine.
        quality = validate_on_engine(dataset, settings, lake, entry, engine)
        result = clean_on_engine(dataset, settings, lake, entry["sha256"], engine)
    version = clean_version(entry["sha256"], dataset, settings)
    report = {
        "dataset": dataset.name,
        "version": version,
        "raw_sha256": entry["sha256"],
        "raw_path": entry["path"],
        "rows_in": result.rows_in,
        "dropped": result.dropped,
        "rows_out": result.rows_out,
        "notes": result.notes,
        "quality": quality.to_dict(),
    }
    clean_entry = lake.write_clean(dataset.name, version, result.data, report)
    _write_report(settings, dataset.name, artifacts.CLEAN_LATEST, report)
    return CleanSummary(dataset=dataset.name, version=version, raw_sha256=entry["sha256"],
                        rows_in=result.rows_in, dropped=result.dropped, rows_out=result.rows_out,
                        notes=result.notes, path=clean_entry["path"])
