"""The quality report: critical findings vs measured warnings."""

from __future__ import annotations

import pandas as pd
import pytest

from homeprice.config import Settings
from homeprice.data.validation import build_report, validate
from homeprice.datasets import get_dataset
from homeprice.errors import DataValidationError

CALIFORNIA_ROW = {
    "longitude": "-122.23", "latitude": "37.88", "housing_median_age": "41",
    "total_rooms": "880", "total_bedrooms": "129", "population": "322", "households": "126",
    "median_income": "8.3252", "median_house_value": "452600", "ocean_proximity": "NEAR BAY",
}


def frame(n: int = 20, **changes: dict[int, str]) -> pd.DataFrame:
    rows = [dict(CALIFORNIA_ROW, households=str(100 + i)) for i in range(n)]
    data = pd.DataFrame(rows)
    for column, values in changes.items():
        for row, value in values.items():
            data.loc[row, column] = value
    return data


def test_clean_frame_is_ok() -> None:
    report = build_report(frame(), get_dataset("california"), Settings(), "x.csv")
    assert report.status == "ok"
    assert report.critical == []


def test_garbage_number_is_critical_and_names_row_and_column() -> None:
    data = frame(median_income={4: "lots"})
    with pytest.raises(DataValidationError) as caught:
        validate(data, get_dataset("california"), Settings(), "houses.csv")
    message = str(caught.value)
    assert "houses.csv" in message and "'median_income'" in message and "row 5" in message
    assert "'lots'" in message


def test_missing_column_is_critical() -> None:
    data = frame().drop(columns=["households"])
    with pytest.raises(DataValidationError, match="'households'.*required column is missing"):
        validate(data, get_dataset("california"), Settings(), "houses.csv")


def test_empty_frame_is_critical() -> None:
    data = frame().iloc[0:0]
    with pytest.raises(DataValidationError, match="no data rows"):
        validate(data, get_dataset("california"), Settings(), "houses.csv")


def test_range_domain_missing_duplicates_are_measured_not_fatal() -> None:
    data = frame(latitude={1: "55.0"}, ocean_proximity={2: "MARS"}, total_bedrooms={3: None})
    data = pd.concat([data, data.iloc[[0]]], ignore_index=True)
    report = validate(data, get_dataset("california"), Settings(), "houses.csv")
    assert report.status == "warnings"
    assert report.range_violations["latitude"]["count"] == 1
    assert report.range_violations["latitude"]["examples"][0]["row"] == 2
    assert report.domain_violations["ocean_proximity"]["count"] == 1
    assert report.missing == {"total_bedrooms": 1}
    assert report.duplicates == 1


def test_iqr_outliers_are_counted() -> None:
    data = frame(population={0: "1000000"})
    report = build_report(data, get_dataset("california"), Settings(), "x.csv")
    assert report.outliers["population"]["count"] == 1


def test_bengaluru_unparseable_area_is_a_domain_violation() -> None:
    data = pd.DataFrame([{"area_type": "Plot  Area", "availability": "Ready To Move",
                          "location": "Whitefield", "size": "2 BHK", "society": None,
                          "total_sqft": "huge", "bath": "2", "balcony": "1", "price": "50"}])
    report = validate(data, get_dataset("bengaluru"), Settings(), "listings.csv")
    assert report.domain_violations["total_sqft"]["count"] == 1
    assert report.domain_violations["total_sqft"]["examples"][0]["value"] == "huge"
