"""California's source: where the file comes from, its schema, parsing, cleaning and split rule
(the Dataset of the plug-in, tying in its settings, features and request model)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from sklearn.base import BaseEstimator

from homeprice.config import Settings
from homeprice.datasets.base import Dataset, SourceSpec, Synthesizer
from homeprice.datasets.california.columns import (
    INCOME_BANDS,
    NUMERIC_COLUMNS,
    OCEAN_PROXIMITY,
    TARGET_CAP,
)
from homeprice.datasets.california.features import CaliforniaFeatures
from homeprice.datasets.california.request import EXAMPLE, request_model
from homeprice.datasets.california.settings import CaliforniaSettings
from homeprice.datasets.california.similarity import SIMILARITY
from homeprice.datasets.modelinput import ModelInput
from homeprice.datasets.rules import CleanPlan, DuplicateRule, RowRule
from homeprice.similarity import Similarity

REQUIRED_NUMBERS = [c for c in NUMERIC_COLUMNS if c != "total_bedrooms"]


class California(Dataset[CaliforniaSettings]):
    """The California housing dataset."""

    name = "california"
    target = "median_house_value"
    target_unit = "USD"
    source = SourceSpec(
        filename="housing.csv",
        sample_sha256="8514a4493dc76939630a366ed97537d4cfe8e78f00b010a1be24a55762fefcb1",
        url="https://github.com/ageron/handson-ml2/raw/master/datasets/housing/housing.tgz",
        url_sha256="8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e",
    )
    raw_columns = (*NUMERIC_COLUMNS, "median_house_value", "ocean_proximity")
    feature_columns = (*NUMERIC_COLUMNS, "ocean_proximity")
    required_inputs = {c: c for c in (*NUMERIC_COLUMNS, "ocean_proximity") if c != "total_bedrooms"}
    settings_model = CaliforniaSettings
    request_example = EXAMPLE

    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Census columns as floats in plausible ranges; ocean proximity one of five."""
        rules = self.rules(settings)
        positive = [pa.Check.ge(0)]

        def number(*checks: pa.Check, nullable: bool = False) -> pa.Column:
            return pa.Column(float, list(checks), coerce=True, nullable=nullable)

        return pa.DataFrameSchema(
            {
                "longitude": number(pa.Check.in_range(*rules.longitude)),
                "latitude": number(pa.Check.in_range(*rules.latitude)),
                "housing_median_age": number(pa.Check.in_range(0, 200)),
                "total_rooms": number(*positive),
                "total_bedrooms": number(*positive, nullable=True),
                "population": number(*positive),
                "households": number(pa.Check.gt(0)),
                "median_income": number(pa.Check.in_range(0, 100)),
                "median_house_value": number(pa.Check.in_range(1, TARGET_CAP), nullable=True),
                "ocean_proximity": pa.Column(
                    str, pa.Check.isin(OCEAN_PROXIMITY), coerce=True, nullable=True
                ),
            },
            name=self.name,
        )

    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Numbers as floats, categories upper-cased and trimmed."""
        out = pd.DataFrame(index=raw.index)
        for column in NUMERIC_COLUMNS:
            out[column] = pd.to_numeric(raw[column], errors="coerce").astype("float64")
        out["ocean_proximity"] = (
            raw["ocean_proximity"].astype("string").str.strip().str.upper().astype(object)
        )
        if self.target in raw.columns:
            out[self.target] = pd.to_numeric(raw[self.target], errors="coerce").astype("float64")
        return out

    def clean_plan(self, settings: Settings) -> CleanPlan:
        """Drop rows with no target, outside California or with impossible counts, then exact
        copies among the rows kept; keep capped targets (noted)."""
        rules = self.rules(settings)
        return CleanPlan(
            rules=(
                RowRule("missing_target", lambda d: d[self.target].isna()),
                RowRule("missing_value", lambda d: d[REQUIRED_NUMBERS].isna().any(axis=1)),
                RowRule("unknown_ocean_proximity",
                        lambda d: ~d["ocean_proximity"].isin(OCEAN_PROXIMITY)),
                RowRule("outside_california", lambda d: ~d["latitude"].between(*rules.latitude)
                        | ~d["longitude"].between(*rules.longitude)),
                RowRule("non_positive_households", lambda d: d["households"] <= 0),
                RowRule("negative_count",
                        lambda d: (d[["total_rooms", "population"]] < 0).any(axis=1)
                        | (d["total_bedrooms"] < 0)),
                DuplicateRule("duplicate_row", on="parsed"),
            ),
            notes=lambda data: {
                "capped_target_rows": int((data[self.target] >= TARGET_CAP).sum()),
                "missing_total_bedrooms_kept": int(data["total_bedrooms"].isna().sum()),
            },
        )

    def synthesizer(self, clean: pd.DataFrame, seed: int = 0) -> Synthesizer:
        """Regions of block groups, each jointly normal on log and ratio scales (synth.py)."""
        from homeprice.datasets.california.synth import CaliforniaSynthesizer

        return CaliforniaSynthesizer.fit(clean, seed)

    def feature_builder(self, random_state: int = 42) -> BaseEstimator:
        """Ratios, geography (with KMeans similarity) and one-hot ocean proximity."""
        return CaliforniaFeatures(random_state=random_state)

    def similarity(self) -> Similarity:
        """Declared in similarity.py beside this file."""
        return SIMILARITY

    def build_request_model(self, rules: CaliforniaSettings) -> type[ModelInput]:
        """One block group; coordinates bounded by the configured California bounds."""
        return request_model(rules)

    def segments(self, data: pd.DataFrame) -> dict[str, pd.Series]:
        """Residuals by ocean proximity and by income band."""
        bands = pd.cut(data["median_income"], bins=INCOME_BANDS, include_lowest=True)
        return {"ocean_proximity": data["ocean_proximity"].astype(str),
                "income_band": bands.astype(str)}

    def stratify_labels(self, data: pd.DataFrame) -> pd.Series:
        """Median-income bands, as in Géron's stratified split."""
        return pd.cut(data["median_income"], bins=INCOME_BANDS, labels=False, include_lowest=True)
