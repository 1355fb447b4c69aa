"""Deterministic, seeded train / calibration / test split."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from homeprice.config import SplitSettings
from homeprice.data.lake import Lake
from homeprice.datasets import Dataset


@dataclass(frozen=True)
class Split:
    """The three parts of a dataset."""

    train: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        """Rows per part."""
        return {"train": len(self.train), "calibration": len(self.calibration),
                "test": len(self.test)}


def _stratify(labels: pd.Series | None, index: pd.Index) -> pd.Series | None:
    """Labels for `index`, or None when a band has too few rows to stratify on."""
    if labels is None:
        return None
    part = labels.loc[index]
    return part if part.value_counts().min() >= 2 else None


def split_dataset(data: pd.DataFrame, dataset: Dataset, settings: SplitSettings) -> Split:
    """Split clean data; stratified on the dataset's labels (e.g. income bands) when it has some."""
    labels = dataset.stratify_labels(data)
    # Whole row counts, so fractions like 0.1 / 0.8 do not round a row the wrong way.
    n_test = round(settings.test * len(data))
    n_calibration = round(settings.calibration * len(data))
    rest, test = train_test_split(
        data.index, test_size=n_test, random_state=settings.seed,
        stratify=_stratify(labels, data.index),
    )
    if n_calibration > 0:
        train, calibration = train_test_split(
            rest, test_size=n_calibration, random_state=settings.seed,
            stratify=_stratify(labels, rest),
        )
    else:
        train, calibration = rest, rest[:0]
    # Sorted positions keep the split independent of the order the index came back in.
    return Split(
        train=data.loc[sorted(train)].reset_index(drop=True),
        calibration=data.loc[sorted(calibration)].reset_index(drop=True),
        test=data.loc[sorted(test)].reset_index(drop=True),
    )


def split_key(clean_version: str, settings: SplitSettings) -> str:
    """Lake key of the split of a clean version under these split settings."""
    digest = hashlib.sha256(json.dumps(settings.model_dump(), sort_keys=True).encode())
    return f"{clean_version}-{digest.hexdigest()[:12]}"


def store_split(lake: Lake, dataset: Dataset, clean_version: str, settings: SplitSettings
                ) -> dict[str, Any]:
    """Write the split of a clean version to the lake unless it is there; its record.

    Training, evaluation and reproduction all read the same stored rows, so a later change of
    scikit-learn's splitting code cannot silently move rows between train and test.
    """
    key = split_key(clean_version, settings)
    entry = lake.split_entry(dataset.name, key)
    if entry is None:
        split = split_dataset(lake.read_clean(dataset.name, clean_version), dataset, settings)
        entry = lake.write_split(dataset.name, key, {"train": split.train,
                                                     "calibration": split.calibration,
                                                     "test": split.test},
                                 {"dataset": dataset.name, "clean_version": clean_version,
                                  "settings": settings.model_dump(), "sizes": split.sizes()})
    return entry


def materialise_split(lake: Lake, dataset: Dataset, clean_version: str,
                      settings: SplitSettings) -> tuple[Split, dict[str, Any]]:
    """The stored split of a clean version (written first when missing) and its record."""
    entry = store_split(lake, dataset, clean_version, settings)
    # Always the stored rows, so the first run sees exactly what later runs will.
    return Split(**lake.read_split(dataset.name, entry["key"])), entry
