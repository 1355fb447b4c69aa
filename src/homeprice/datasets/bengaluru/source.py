"""Bengaluru's source: where the file comes from, its schema, parsing, cleaning, and how a
parsed row becomes a request (the Dataset of the plug-in, tying in its settings, features and
request model)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.base import BaseEstimator

from homeprice.config import Settings
from homeprice.datasets.base import Dataset, SourceSpec, Synthesizer
from homeprice.datasets.bengaluru.features import BengaluruFeatures
from homeprice.datasets.bengaluru.parsing import (
    AREA_TYPES,
    normalise_text,
    parse_availability,
    parse_size,
    parse_sqft,
    size_is_parseable,
    sqft_is_parseable,
)
from homeprice.datasets.bengaluru.request import EXAMPLE, BengaluruHome
from homeprice.datasets.bengaluru.settings import BengaluruSettings
from homeprice.datasets.bengaluru.similarity import SIMILARITY
from homeprice.datasets.modelinput import ModelInput
from homeprice.datasets.rules import CleanPlan, DuplicateRule, RowRule
from homeprice.similarity import Similarity


class Bengaluru(Dataset[BengaluruSettings]):
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

    # A listing without a size (a plot) is priced from its area and location (see
    # BengaluruFeatures); the area is what no listing can be priced without.
    required_inputs = {"total_sqft": "total_sqft"}
    settings_model = BengaluruSettings
    request_example = EXAMPLE

    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Listing columns: counts and price as numbers; size and area parseable; known area
        types."""
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
                "size": pa.Column(checks=pa.Check(size_is_parseable, name="parseable_size"),
                                  **text),
                "society": pa.Column(**text),
                "total_sqft": pa.Column(
                    checks=pa.Check(sqft_is_parseable, name="parseable_total_sqft"), **text),
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

    def clean_plan(self, settings: Settings) -> CleanPlan:
        """Drop listings with no price, unparseable area, impossible areas or baths, and exact
        copies of a source row (counted second); listings without a size are kept (the raw
        schema has already refused sizes that do not parse)."""
        rules = self.rules(settings)
        return CleanPlan(
            rules=(
                RowRule("missing_price", lambda d: d[self.target].isna() | (d[self.target] <= 0)),
                # Exact duplicates of a listing (same raw row) would leak between train and test.
                DuplicateRule("duplicate_listing", on="raw"),
                RowRule("unparseable_total_sqft", lambda d: d["total_sqft"].isna()),
                RowRule("missing_location", lambda d: d["location"].isna()),
                RowRule("under_min_sqft_per_bedroom",
                        lambda d: d["total_sqft"] / d["bedrooms"] < rules.min_sqft_per_bedroom),
                RowRule("too_many_baths",
                        lambda d: d["bath"] > d["bedrooms"] + rules.max_extra_baths),
            ),
            notes=lambda data: {"missing_size_kept": int(data["bedrooms"].isna().sum()),
                                "missing_bath_kept": int(data["bath"].isna().sum()),
                                "missing_balcony_kept": int(data["balcony"].isna().sum())},
        )

    def synthesizer(self, clean: pd.DataFrame, seed: int = 0) -> Synthesizer:
        """Listings drawn by location, each location's kinds (area type, size, availability,
        baths, balconies) resampled whole, its log area and log price per square foot jointly
        normal given the kind (synth.py); the fit is deterministic, so `seed` is not needed."""
        from homeprice.datasets.bengaluru.synth import BengaluruSynthesizer

        return BengaluruSynthesizer.fit(clean)

    def feature_builder(self, random_state: int = 42) -> BaseEstimator:
        """Sizes, ratios, area type, readiness and cross-fitted location encodings."""
        return BengaluruFeatures(random_state=random_state)

    def similarity(self) -> Similarity:
        """Declared in similarity.py beside this file."""
        return SIMILARITY

    def build_request_model(self, rules: BengaluruSettings) -> type[ModelInput]:
        """One listing in the source format or already parsed (bounds do not depend on rules)."""
        return BengaluruHome

    def request_body(self, row: pd.Series) -> dict[str, Any]:
        """A parsed listing as a request: readiness back to the source's `availability` text,
        bedrooms as a count (left out when the listing has no size), and missing optional
        fields left out."""
        body = super().request_body(row)
        ready = body.pop("ready_to_move")
        when = row.get("available_from")
        body["availability"] = ("Ready To Move" if ready or pd.isna(when)
                                else pd.Timestamp(when).strftime("%y-%b"))
        if body.get("bedrooms") is not None and not pd.isna(body["bedrooms"]):
            body["bedrooms"] = int(body["bedrooms"])
        else:
            body.pop("bedrooms", None)
        return {k: v for k, v in body.items() if v is not None}
