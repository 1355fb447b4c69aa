"""What every dataset module provides: its source, raw schema, parsing, cleaning and split rule."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from homeprice.config import Settings

SAMPLES_DIR = Path(__file__).parent / "samples"


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

    def sample_path(self, dataset: str) -> Path:
        """The bundled sample of this source."""
        return SAMPLES_DIR / dataset / self.filename


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
    """Apply drop rules in order; each dropped row is counted once, under the first rule it breaks."""
    dropped: dict[str, int] = {}
    for reason, breaks in rules:
        mask = breaks(df).fillna(False).astype(bool)
        dropped[reason] = int(mask.sum())
        df = df.loc[~mask]
    return df, dropped


class Dataset(ABC):
    """A house-price dataset: one subclass per module in this package."""

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

    @abstractmethod
    def raw_schema(self, settings: Settings) -> pa.DataFrameSchema:
        """Pandera schema of the source format (columns, coercible types, ranges, domains)."""

    @abstractmethod
    def parse(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Turn source-format rows (or already parsed ones) into model inputs; never drops rows."""

    @abstractmethod
    def clean(self, raw: pd.DataFrame, settings: Settings) -> CleanResult:
        """Parse and drop impossible rows, counting each drop by reason."""

    def segments(self, data: pd.DataFrame) -> dict[str, pd.Series]:
        """Named segmentations of rows for residual analysis (default: price quintile bands)."""
        bands = pd.qcut(data[self.target], 5, duplicates="drop")
        return {"price_band": bands.astype(str)}

    def stratify_labels(self, data: pd.DataFrame) -> pd.Series | None:
        """Labels to stratify the train/calibration/test split on, or None for a plain shuffle."""
        return None
