"""Dirty copies of the bundled samples: rows breaking each cleaning rule and copies of earlier
rows spread through the file, to compare cleaners on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from homeprice.datasets import get_dataset

# Rows breaking each California rule (the bundled sample is clean), as text like the source.
CALIFORNIA_BREAKS = [
    {"median_house_value": ""},
    {"median_income": "NA"},
    {"ocean_proximity": "MARS"},
    {"latitude": "10.5"},
    {"households": "0"},
    {"total_rooms": "-3"},
    {"total_bedrooms": "nan"},  # missing bedrooms are kept, counted in the notes
]


def dirty_copy(name: str, folder: Path) -> Path:
    """The dataset's sample with rows breaking its rules and copies of earlier rows spread
    through the file (so copies land in other batches and partitions than their first)."""
    sample = pd.read_csv(get_dataset(name).sample_path, dtype=str, keep_default_na=False)
    broken = []
    if name == "california":
        for i, change in enumerate(CALIFORNIA_BREAKS * 3):
            row = sample.iloc[[i * 37]].copy()
            for column, value in change.items():
                row[column] = value
            broken.append(row)
    copies = sample.iloc[::97]
    parts = [sample.iloc[:5000], copies, *broken, sample.iloc[5000:], copies.iloc[::2]]
    path = folder / f"dirty-{name}.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path
