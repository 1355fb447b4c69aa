"""Data tests on the real samples: schemas pass, cleaning accounts for every row."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.data.validation import validate
from homeprice.datasets import get_dataset
from homeprice.datasets.california.columns import OCEAN_PROXIMITY, TARGET_CAP

FILES = {"california": "california/housing.csv", "bengaluru": "bengaluru/Bengaluru_House_Data.csv"}


@pytest.mark.parametrize("name", list(FILES))
def test_schema_accepts_real_data(name: str, real_data_dir: Path) -> None:
    raw = read_table(real_data_dir / FILES[name])
    report = validate(raw, get_dataset(name), Settings(), FILES[name])
    assert report.critical == []
    assert report.rows == len(raw) > 1000


@pytest.mark.parametrize("name", list(FILES))
def test_every_dropped_row_is_accounted_for(name: str, real_data_dir: Path) -> None:
    dataset = get_dataset(name)
    raw = read_table(real_data_dir / FILES[name])
    result = dataset.clean(raw, Settings())
    assert result.rows_in == len(raw)
    assert result.rows_in - sum(result.dropped.values()) == result.rows_out
    assert result.data[dataset.target].notna().all()
    assert set(dataset.feature_columns) <= set(result.data.columns)


def test_california_keeps_capped_rows_and_missing_bedrooms(real_data_dir: Path) -> None:
    raw = read_table(real_data_dir / FILES["california"])
    result = get_dataset("california").clean(raw, Settings())
    capped = int((raw["median_house_value"].astype(float) >= TARGET_CAP).sum())
    assert capped > 0 and result.notes["capped_target_rows"] == capped
    assert result.notes["missing_total_bedrooms_kept"] == raw["total_bedrooms"].isna().sum() > 0
    assert set(result.data["ocean_proximity"]) <= set(OCEAN_PROXIMITY)


def test_bengaluru_cleaning_rules_hold(real_data_dir: Path) -> None:
    settings = Settings()
    raw = read_table(real_data_dir / FILES["bengaluru"])
    result = get_dataset("bengaluru").clean(raw, settings)
    data = result.data
    rules = settings.datasets.bengaluru
    sized = data[data["bedrooms"].notna()]
    assert (sized["total_sqft"] / sized["bedrooms"] >= rules.min_sqft_per_bedroom).all()
    assert not (sized["bath"] > sized["bedrooms"] + rules.max_extra_baths).any()
    assert sized["bedrooms"].between(1, 50).all()
    # Listings without a size (plots) are kept and counted, not dropped.
    assert result.notes["missing_size_kept"] == raw["size"].isna().sum() > 0
    assert "unparseable_size" not in result.dropped
    assert result.dropped["duplicate_listing"] == raw.duplicated().sum()
    # ranges and unit areas were converted, not dropped
    assert result.dropped["unparseable_total_sqft"] < 5
