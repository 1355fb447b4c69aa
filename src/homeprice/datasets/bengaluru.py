"""Bengaluru property listings (Kaggle "Bengaluru House price data"); price in lakh rupees."""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from homeprice.config import Settings
from homeprice.datasets.base import CleanResult, Dataset, SourceSpec, drop_rows

AREA_TYPES = ("Super built-up Area", "Built-up Area", "Plot Area", "Carpet Area")
READY_WORDS = ("ready to move", "immediate possession")

# Square feet per unit, for the units that appear in `total_sqft` (Indian land units included).
SQFT_PER_UNIT: dict[str, float] = {
    "sq. meter": 10.7639,
    "sq. yards": 9.0,
    "acres": 43_560.0,
    "cents": 435.6,
    "guntha": 1_089.0,
    "grounds": 2_400.0,
    "perch": 272.25,
}
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_PLAIN = re.compile(rf"^\s*({_NUMBER})\s*$")
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*-\s*({_NUMBER})\s*$")
_WITH_UNIT = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z. ]+?)\s*$")
_SIZE = re.compile(r"^\s*(\d+)\s*(bhk|bedroom|bedrooms|rk|br)?\s*$", re.IGNORECASE)
_AVAILABLE = re.compile(r"^\s*(\d{2})-([A-Za-z]{3})\s*$")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def _normalise_unit(unit: str) -> str:
    unit = " ".join(unit.lower().split())
    return unit.replace("sq.", "sq. ").replace("sq.  ", "sq. ").strip()


def parse_sqft(value: object) -> float:
    """Square feet from "1056", "2100 - 2850" (midpoint) or "34.46Sq. Meter"; NaN if unparseable."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) and number > 0 else math.nan
    text = str(value)
    if match := _PLAIN.match(text):
        number = float(match.group(1))
    elif match := _RANGE.match(text):
        number = (float(match.group(1)) + float(match.group(2))) / 2
    elif match := _WITH_UNIT.match(text):
        factor = SQFT_PER_UNIT.get(_normalise_unit(match.group(2)))
        if factor is None:
            return math.nan
        number = float(match.group(1)) * factor
    else:
        return math.nan
    return number if number > 0 else math.nan


def parse_size(value: object) -> float:
    """Bedrooms from "2 BHK", "4 Bedroom" or "1 RK" (a studio counts as one); NaN if unparseable."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) and number >= 1 and number.is_integer() else math.nan
    match = _SIZE.match(str(value))
    if not match:
        return math.nan
    rooms = int(match.group(1))
    return float(rooms) if rooms >= 1 else math.nan


def parse_availability(value: object) -> tuple[bool | None, date | None]:
    """(ready to move, availability date): "Ready To Move" -> (True, None), "18-Dec" -> (False, 2018-12-01)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, None
    text = str(value).strip()
    if text.lower() in READY_WORDS:
        return True, None
    if match := _AVAILABLE.match(text):
        month = _MONTHS.get(match.group(2).lower())
        if month is not None:
            return False, date(2000 + int(match.group(1)), month, 1)
    return None, None


def normalise_text(value: object) -> object:
    """Trim and collapse runs of whitespace; blanks become missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = " ".join(str(value).split())
    return text or None


def _sqft_is_parseable(series: pd.Series) -> pd.Series:
    return series.isna() | series.map(lambda v: not math.isnan(parse_sqft(v)))


def _size_is_parseable(series: pd.Series) -> pd.Series:
    return series.isna() | series.map(lambda v: not math.isnan(parse_size(v)))


class Bengaluru(Dataset):
    """The Bengaluru listings dataset."""

    name = "bengaluru"
    target = "price"
    target_unit = "lakh INR"
    source = SourceSpec(
        filename="Bengaluru_House_Data.csv",
        sample_sha256="a597689b5c0c317ad91b90749d83e4f8e0dc54a1b0fb0b41763e64056e95cae2",
        manual_download=(
            'download "Bengaluru House price data" from Kaggle '
            "(https://www.kaggle.com/datasets/amitabhajoy/bengaluru-house-price-data; "
            "a Kaggle login is needed) and put Bengaluru_House_Data.csv in "
            "$HOMEPRICE_DATA_DIR/bengaluru/, or pass it with --source PATH"
        ),
    )
    raw_columns = (
        "area_type", "availability", "location", "size", "society",
        "total_sqft", "bath", "balcony", "price",
    )
    feature_columns = (
        "area_type", "ready_to_move", "location", "society",
        "bedrooms", "total_sqft", "bath", "balcony",
    )

    required_inputs = {"bedrooms": "size", "total_sqft": "total_sqft"}

    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Listing columns: counts and price as numbers; size and area parseable; known area types."""
        text = dict(dtype=str, coerce=True, nullable=True)
        return pa.DataFrameSchema(
            {
                "area_type": pa.Column(
                    checks=pa.Check(lambda s: s.map(normalise_text).isin(AREA_TYPES) | s.isna(),
                                    name="known_area_type"), **text),
                "availability": pa.Column(
                    checks=pa.Check(lambda s: s.isna() | s.map(lambda v: parse_availability(v)[0]
                                                              is not None),
                                    name="parseable_availability"), **text),
                "location": pa.Column(**text),
                "size": pa.Column(checks=pa.Check(_size_is_parseable, name="parseable_size"),
                                  **text),
                "society": pa.Column(**text),
                "total_sqft": pa.Column(
                    checks=pa.Check(_sqft_is_parseable, name="parseable_total_sqft"), **text),
                "bath": pa.Column(float, pa.Check.in_range(1, 40), coerce=True, nullable=True),
                "balcony": pa.Column(float, pa.Check.in_range(0, 20), coerce=True, nullable=True),
                "price": pa.Column(float, pa.Check.gt(0), coerce=True, nullable=True),
            },
            name=self.name,
        )

    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Source rows (or already parsed ones) to model inputs: bedrooms, sqft, ready-to-move..."""
        out = pd.DataFrame(index=raw.index)
        out["area_type"] = raw["area_type"].map(normalise_text)
        if "ready_to_move" in raw.columns and "availability" not in raw.columns:
            out["ready_to_move"] = pd.to_numeric(raw["ready_to_move"], errors="coerce")
        else:
            availability = raw["availability"].map(parse_availability)
            out["ready_to_move"] = availability.map(
                lambda a: np.nan if a[0] is None else float(a[0]))
            out["available_from"] = pd.to_datetime(availability.map(lambda a: a[1]))
        out["location"] = raw["location"].map(normalise_text)
        out["society"] = raw["society"].map(normalise_text) if "society" in raw else None
        sizes = raw["bedrooms"] if "bedrooms" in raw.columns else raw["size"]
        out["bedrooms"] = sizes.map(parse_size).astype("float64")
        out["total_sqft"] = raw["total_sqft"].map(parse_sqft).astype("float64")
        for column in ("bath", "balcony"):
            out[column] = pd.to_numeric(raw.get(column), errors="coerce").astype("float64")
        if self.target in raw.columns:
            out[self.target] = pd.to_numeric(raw[self.target], errors="coerce").astype("float64")
        return out

    def clean(self, raw: pd.DataFrame, settings: Settings) -> CleanResult:
        """Drop listings with no price, unparseable size or area, impossible areas or baths."""
        rules = settings.datasets.bengaluru
        data = self.parse(raw)
        # Exact duplicates of a listing (same raw row) would leak between train and test.
        duplicated_raw = raw.duplicated(keep="first")
        data, dropped = drop_rows(
            data,
            [
                ("missing_price", lambda d: d[self.target].isna() | (d[self.target] <= 0)),
                ("duplicate_listing", lambda d: duplicated_raw.loc[d.index]),
                ("unparseable_size", lambda d: d["bedrooms"].isna()),
                ("unparseable_total_sqft", lambda d: d["total_sqft"].isna()),
                ("missing_location", lambda d: d["location"].isna()),
                ("under_min_sqft_per_bedroom",
                 lambda d: d["total_sqft"] / d["bedrooms"] < rules.min_sqft_per_bedroom),
                ("too_many_baths", lambda d: d["bath"] > d["bedrooms"] + rules.max_extra_baths),
            ],
        )
        return CleanResult(
            data=data.reset_index(drop=True),
            rows_in=len(raw),
            dropped=dropped,
            notes={"missing_bath_kept": int(data["bath"].isna().sum()),
                   "missing_balcony_kept": int(data["balcony"].isna().sum())},
        )
