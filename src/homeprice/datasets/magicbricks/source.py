"""Magic Bricks listings' source: the scraper's raw table (see homeprice.scraping), its schema,
parsing, cleaning, and how a parsed row becomes a request (the Dataset of the plug-in)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.base import BaseEstimator

from homeprice.config import Settings
from homeprice.datasets.base import Dataset, SourceSpec
from homeprice.datasets.magicbricks.features import MagicbricksFeatures
from homeprice.datasets.magicbricks.parsing import (
    FURNISHING,
    PROPERTY_TYPES,
    TRANSACTIONS,
    category,
    locality_key,
    parse_area_sqft,
    parse_bhk,
    parse_count,
    parse_floor,
    parse_price_lakhs,
    ready_to_move,
)
from homeprice.datasets.magicbricks.request import EXAMPLE, MagicbricksHome
from homeprice.datasets.magicbricks.settings import MagicbricksSettings
from homeprice.datasets.magicbricks.similarity import SIMILARITY
from homeprice.datasets.modelinput import ModelInput
from homeprice.datasets.rules import CleanPlan, DuplicateRule, RowRule
from homeprice.scraping.listing import PROPERTY_FIELDS
from homeprice.similarity import Similarity


def _parseable(parser: Any) -> Any:
    """A pandera check: every present value parses (NaN from the parser means it does not)."""

    def check(series: pd.Series) -> pd.Series:
        return series.isna() | series.map(lambda v: not math.isnan(parser(v)))

    return check


class Magicbricks(Dataset[MagicbricksSettings]):
    """Listings scraped from a property portal (Magic Bricks' fields), price in lakh rupees."""

    name = "magicbricks"
    target = "price"
    target_unit = "lakh INR"
    source = SourceSpec(
        filename="magicbricks_listings.csv",
        sample_sha256="0151e34df3ee9664bd42472f947685a3299d695931b0c10f448ba1882e11421d",
        manual_download=(
            "scrape a portal with `homeprice scrape --site config/sites/magicbricks.yaml` "
            "(fill in `permission:` first): the scraper writes this dataset's raw data"
        ),
    )
    # The scraper's raw table: the property fields of homeprice.scraping.listing, and when.
    raw_columns = (*PROPERTY_FIELDS, "scraped_at")
    feature_columns = (
        "locality",
        "property_type",
        "bedrooms",
        "area_sqft",
        "area_kind",
        "bathrooms",
        "balconies",
        "furnishing",
        "transaction",
        "ready_to_move",
        "floor",
        "total_floors",
    )
    required_inputs = {"bedrooms": "bhk", "area_sqft": "carpet_area"}
    settings_model = MagicbricksSettings
    request_example = EXAMPLE

    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Scraped listings: id, locality, BHK and price present; sizes, floors and prices
        parseable; known furnishing and transaction types."""
        text = dict(dtype=str, coerce=True, nullable=True)
        return pa.DataFrameSchema(
            {
                "listing_id": pa.Column(str, coerce=True, nullable=False, unique=True),
                "locality": pa.Column(**text),
                "city": pa.Column(**text),
                "property_type": pa.Column(**text),
                "bhk": pa.Column(
                    checks=pa.Check(_parseable(parse_bhk), name="parseable_bhk"), **text
                ),
                "carpet_area": pa.Column(
                    checks=pa.Check(_parseable(parse_area_sqft), name="parseable_area"), **text
                ),
                "super_area": pa.Column(
                    checks=pa.Check(_parseable(parse_area_sqft), name="parseable_area"), **text
                ),
                "bathrooms": pa.Column(
                    checks=pa.Check(_parseable(parse_count), name="parseable_count"), **text
                ),
                "balconies": pa.Column(
                    checks=pa.Check(_parseable(parse_count), name="parseable_count"), **text
                ),
                "furnishing": pa.Column(
                    checks=pa.Check(
                        lambda s: s.isna() | s.map(lambda v: category(v, FURNISHING) is not None),
                        name="known_furnishing",
                    ),
                    **text,
                ),
                "transaction": pa.Column(
                    checks=pa.Check(
                        lambda s: s.isna() | s.map(lambda v: category(v, TRANSACTIONS) is not None),
                        name="known_transaction",
                    ),
                    **text,
                ),
                "status": pa.Column(**text),
                "floor": pa.Column(
                    checks=pa.Check(
                        lambda s: s.isna() | s.map(lambda v: not math.isnan(parse_floor(v)[0])),
                        name="parseable_floor",
                    ),
                    **text,
                ),
                "facing": pa.Column(**text),
                "price": pa.Column(
                    checks=pa.Check(_parseable(parse_price_lakhs), name="parseable_price"), **text
                ),
                "scraped_at": pa.Column(**text),
            },
            name=self.name,
        )

    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Scraped rows (or already parsed ones) to model inputs: bedrooms, area, floors..."""
        out = pd.DataFrame(index=raw.index)
        out["locality"] = raw["locality"].map(locality_key)
        out["property_type"] = raw.get("property_type", pd.Series(None, index=raw.index)).map(
            lambda v: category(v, PROPERTY_TYPES) or locality_key(v)
        )
        if "area_sqft" in raw.columns:  # already parsed (a request, a replayed row)
            out["bedrooms"] = pd.to_numeric(raw["bedrooms"], errors="coerce")
            out["area_sqft"] = pd.to_numeric(raw["area_sqft"], errors="coerce")
            out["area_kind"] = raw.get("area_kind", "carpet")
            for column in ("bathrooms", "balconies", "ready_to_move", "floor", "total_floors"):
                out[column] = pd.to_numeric(raw.get(column), errors="coerce")
        else:
            out["bedrooms"] = raw["bhk"].map(parse_bhk)
            carpet = raw["carpet_area"].map(parse_area_sqft)
            built = raw["super_area"].map(parse_area_sqft)
            out["area_sqft"] = carpet.where(carpet.notna(), built)
            out["area_kind"] = np.where(carpet.notna(), "carpet", "super")
            out["bathrooms"] = raw["bathrooms"].map(parse_count)
            out["balconies"] = raw["balconies"].map(parse_count)
            out["ready_to_move"] = raw["status"].map(ready_to_move)
            floors = raw["floor"].map(parse_floor)
            out["floor"] = floors.map(lambda f: f[0])
            out["total_floors"] = floors.map(lambda f: f[1])
        out["furnishing"] = raw.get("furnishing", pd.Series(None, index=raw.index)).map(
            lambda v: category(v, FURNISHING)
        )
        out["transaction"] = raw.get("transaction", pd.Series(None, index=raw.index)).map(
            lambda v: category(v, TRANSACTIONS)
        )
        for column in (
            "bedrooms",
            "area_sqft",
            "bathrooms",
            "balconies",
            "ready_to_move",
            "floor",
            "total_floors",
        ):
            out[column] = out[column].astype("float64")
        if self.target in raw.columns:
            prices = raw[self.target]
            out[self.target] = (
                pd.to_numeric(prices, errors="coerce")
                if "area_sqft" in raw
                else prices.map(parse_price_lakhs)
            ).astype("float64")
        return out

    def clean_plan(self, settings: Settings) -> CleanPlan:
        """Drop listings with no usable price, size or area, impossible areas or baths, and
        repeats of a listing id (counted third)."""
        rules = self.rules(settings)
        low, high = rules.price_range
        return CleanPlan(
            rules=(
                RowRule("missing_price", lambda d: d[self.target].isna()),
                RowRule("price_out_of_range",
                        lambda d: (d[self.target] < low) | (d[self.target] > high)),
                DuplicateRule("duplicate_listing", on="raw", columns=("listing_id",)),
                RowRule("unparseable_bhk", lambda d: d["bedrooms"].isna()),
                RowRule("missing_area", lambda d: d["area_sqft"].isna()),
                RowRule("missing_locality", lambda d: d["locality"].isna()),
                RowRule("under_min_sqft_per_bedroom",
                        lambda d: d["area_sqft"] / d["bedrooms"] < rules.min_sqft_per_bedroom),
                RowRule("too_many_baths",
                        lambda d: d["bathrooms"] > d["bedrooms"] + rules.max_extra_baths),
            ),
            notes=lambda data: {
                "super_area_only": int((data["area_kind"] == "super").sum()),
                "missing_floor_kept": int(data["floor"].isna().sum()),
            },
        )

    def feature_builder(self, random_state: int = 42) -> BaseEstimator:
        """Sizes, floor position, categories and a cross-fitted locality encoding."""
        return MagicbricksFeatures(random_state=random_state)

    def similarity(self) -> Similarity:
        """Declared in similarity.py beside this file."""
        return SIMILARITY

    def build_request_model(self, rules: MagicbricksSettings) -> type[ModelInput]:
        """One listing, parsed (bounds do not depend on the rules)."""
        return MagicbricksHome

    def request_body(self, row: pd.Series) -> dict[str, Any]:
        """A parsed listing as a request: counts as integers, readiness as a boolean, missing
        optional fields left out."""
        body = super().request_body(row)
        body["bedrooms"] = int(body["bedrooms"])
        for column in ("floor", "total_floors"):
            if body.get(column) is not None:
                body[column] = int(body[column])
        if body.get("ready_to_move") is not None:
            body["ready_to_move"] = bool(body["ready_to_move"])
        return {k: v for k, v in body.items() if v is not None}
