"""The tiny dataset's source: its generated sample, schema, parsing and cleaning."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from sklearn.base import BaseEstimator

from homeprice.config import Settings
from homeprice.datasets.base import CleanResult, Dataset, SourceSpec, drop_rows
from homeprice.datasets.modelinput import ModelInput
from tests.support.tiny.features import INPUTS, TinyFeatures
from tests.support.tiny.request import EXAMPLE, request_model
from tests.support.tiny.settings import TinySettings


class Tiny(Dataset[TinySettings]):
    """Generated homes: price from area, rooms and age."""

    name = "tiny"
    target = "price"
    target_unit = "EUR"
    source = SourceSpec(
        filename="homes.csv",
        sample_sha256="67f8fcd4d17b32189e01c8e4e92a5de7929195626e438a737c9f85b68f9ee7b5",
    )
    raw_columns = (*INPUTS, "price")
    feature_columns = INPUTS
    required_inputs = {"area": "area", "rooms": "rooms"}
    settings_model = TinySettings
    request_example = EXAMPLE

    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Three numbers and a price."""
        def number(*checks: pa.Check, nullable: bool = False) -> pa.Column:
            return pa.Column(float, list(checks), coerce=True, nullable=nullable)

        return pa.DataFrameSchema(
            {"area": number(pa.Check.gt(0)), "rooms": number(pa.Check.ge(1)),
             "age": number(pa.Check.ge(0), nullable=True),
             "price": number(pa.Check.gt(0), nullable=True)},
            name=self.name)

    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Every column as floats."""
        columns = [c for c in (*INPUTS, self.target) if c in raw.columns]
        return raw[columns].apply(pd.to_numeric, errors="coerce").astype("float64")

    def clean(self, raw: pd.DataFrame, settings: Settings) -> CleanResult:
        """Drop homes with no price or larger than the configured maximum."""
        rules = self.rules(settings)
        data, dropped = drop_rows(self.parse(raw), [
            ("missing_price", lambda d: d[self.target].isna()),
            ("too_large", lambda d: d["area"] > rules.max_area),
        ])
        return CleanResult(data=data.reset_index(drop=True), rows_in=len(raw), dropped=dropped)

    def feature_builder(self, random_state: int = 42) -> BaseEstimator:
        """The inputs plus area per room."""
        return TinyFeatures(random_state=random_state)

    def build_request_model(self, rules: TinySettings) -> type[ModelInput]:
        """One home, area bounded by `max_area`."""
        return request_model(rules)
