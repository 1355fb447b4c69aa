"""What every dataset plug-in provides: its source, raw schema, parsing, cleaning, split rule,
settings, feature builder, API request model and example, and its bundled sample."""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.base import BaseEstimator

from homeprice.config import DatasetSettings, Settings
from homeprice.datasets.modelinput import ModelInput
from homeprice.similarity import Similarity

if TYPE_CHECKING:
    from homeprice.datasets.rules import CleanPlan


class Synthesizer(Protocol):
    """Draws synthetic rows in a dataset's source format."""

    def sample(self, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """`rows` new rows, random numbers taken from `rng` only."""

RulesT = TypeVar("RulesT", bound=DatasetSettings)


@dataclass(frozen=True)
class SourceSpec:
    """Where a dataset's source file comes from."""

    filename: str
    """Name of the CSV file, looked up as <data_dir>/<dataset>/<filename>."""
    sample_sha256: str
    """Checksum of the sample bundled with homeprice."""
    url: str | None = None
    """Public download of the full file (may be a .tgz holding `filename`)."""
    url_sha256: str | None = None
    """Checksum of the full CSV file behind `url`."""
    manual_download: str | None = None
    """Where to get the full file by hand when there is no direct URL."""


@dataclass
class CleanResult:
    """Cleaned data plus the account of every row that was dropped."""

    data: pd.DataFrame
    rows_in: int
    dropped: dict[str, int]
    notes: dict[str, int | float | str] = field(default_factory=dict)

    @property
    def rows_out(self) -> int:
        """Rows kept."""
        return len(self.data)


DropRule = tuple[str, Callable[[pd.DataFrame], pd.Series]]


def drop_rows(df: pd.DataFrame, rules: list[DropRule]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply drop rules in order; each dropped row is counted once, under the first rule it
    breaks."""
    dropped: dict[str, int] = {}
    for reason, breaks in rules:
        mask = breaks(df).fillna(False).astype(bool)
        dropped[reason] = int(mask.sum())
        df = df.loc[~mask]
    return df, dropped


def json_value(value: Any) -> Any:
    """A data-frame cell as a JSON value (NaN -> None, numpy scalars -> Python)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


class Dataset(ABC, Generic[RulesT]):
    """A house-price dataset: one subclass per plug-in (`homeprice/datasets/<name>/source.py`),
    generic in its settings model."""

    name: str
    target: str
    target_unit: str
    source: SourceSpec
    raw_columns: tuple[str, ...]
    """Columns of the source format, in file order."""
    feature_columns: tuple[str, ...]
    """Model inputs produced by `parse` (the same at training and prediction time)."""
    required_inputs: dict[str, str]
    """Parsed inputs a prediction cannot do without -> the source column they come from."""
    settings_model: type[RulesT]
    """Its section of the settings (`datasets.<name>`): cleaning rules, log target, gate."""
    request_example: dict[str, Any]
    """One valid prediction request body (CLI help, docs, smoke tests)."""

    def rules(self, settings: Settings) -> RulesT:
        """This dataset's section of the loaded settings."""
        return cast(RulesT, settings.datasets[self.name])

    @property
    def sample_path(self) -> Path:
        """The sample bundled with the plug-in: `sample/<source filename>` beside its code."""
        return Path(inspect.getfile(type(self))).parent / "sample" / self.source.filename

    @abstractmethod
    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Pandera schema of the source format (columns, coercible types, ranges, domains)."""

    @abstractmethod
    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Turn source-format rows (or already parsed ones) into model inputs; never drops rows."""

    def clean_plan(self, settings: Settings) -> CleanPlan | None:
        """The cleaning rules as data (`homeprice.datasets.rules`), which `clean` applies here
        and the Spark engine per batch; None: the dataset overrides `clean` instead."""
        return None

    def clean(self, raw: pd.DataFrame, settings: Settings) -> CleanResult:
        """Parse and drop impossible rows, counting each drop by reason: the dataset's
        `clean_plan` applied in order. A dataset without a plan overrides this instead (and
        then cleans on the local engine only)."""
        from homeprice.datasets.rules import apply_plan

        plan = self.clean_plan(settings)
        if plan is None:
            raise NotImplementedError(f"{self.name} declares neither a clean plan nor a clean")
        data, dropped = apply_plan(raw, self.parse(raw), plan)
        return CleanResult(data=data.reset_index(drop=True), rows_in=len(raw), dropped=dropped,
                           notes=dict(plan.notes(data)))

    @abstractmethod
    def feature_builder(self, random_state: int = 42) -> BaseEstimator:
        """A fresh, unfitted feature transformer of the parsed inputs (the model's first step).

        Besides the scikit-learn contract it offers `transform_columns` (the serving fast path,
        on a mapping of column -> values), `get_feature_names_out` and `feature_sources`
        (model feature -> the request fields it comes from, for /explain).
        """

    @abstractmethod
    def build_request_model(self, rules: RulesT) -> type[ModelInput]:
        """The API request model of one home under these rules (bounds may come from them)."""

    def request_model(self, settings: Settings) -> type[ModelInput]:
        """The API request model of one home, with bounds from the loaded settings.

        Built once per distinct section, so an app built twice on the same settings shares it.
        """
        rules = self.rules(settings)
        cache: dict[str, type[ModelInput]] = self.__dict__.setdefault("_request_models", {})
        key = rules.model_dump_json()
        if key not in cache:
            cache[key] = self.build_request_model(rules)
        return cache[key]

    def request_body(self, row: pd.Series) -> dict[str, Any]:
        """The prediction request for a parsed row (a test-split home sent by the simulator).

        Default: the feature columns as they are; a dataset whose request format differs from
        its parsed inputs overrides it.
        """
        return {column: json_value(row[column]) for column in self.feature_columns}

    def similarity(self) -> Similarity | None:
        """How its homes are compared for comparables (`<name>/similarity.py`); None: the
        dataset declares none, and its models have no comparables."""
        return None

    def synthesizer(self, clean: pd.DataFrame, seed: int = 0) -> Synthesizer | None:
        """A generator of realistic synthetic rows fitted on clean rows (`data synth`); None:
        the dataset has none."""
        return None

    def segments(self, data: pd.DataFrame) -> dict[str, pd.Series]:
        """Named segmentations of rows for residual analysis (default: price quintile bands)."""
        bands = pd.qcut(data[self.target], 5, duplicates="drop")
        return {"price_band": bands.astype(str)}

    def stratify_labels(self, data: pd.DataFrame) -> pd.Series | None:
        """Labels to stratify the train/calibration/test split on, or None for a plain shuffle."""
        return None
