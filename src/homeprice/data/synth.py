"""`homeprice data synth`: synthetic rows of a dataset, fitted on its real data, written as
Parquet in chunks so the file can be far larger than memory; the same seed gives the same file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homeprice.config import Settings
from homeprice.data.parquetstream import parquet_batches
from homeprice.data.sources import default_source, read_table
from homeprice.datasets import DATASETS, Dataset
from homeprice.errors import UserInputError

# Rows generated and written per step (memory is bounded by one chunk, about 100 MB).
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class SynthReport:
    """What a synthetic run wrote."""

    rows: int
    output: Path
    fitted_on: str
    seed: int


def synthesizable() -> list[str]:
    """The datasets whose plug-in declares a synthetic generator (overrides `synthesizer`)."""
    return [name for name, dataset in DATASETS.items()
            if type(dataset).synthesizer is not Dataset.synthesizer]


def write_synthetic(dataset: Dataset, settings: Settings, rows: int, output_path: str | Path,
                    seed: int = 0, source: str | None = None,
                    chunk_rows: int = CHUNK_ROWS) -> SynthReport:
    """Fit the dataset's synthesizer on its real data (`source`, else the data dir's file or
    the bundled sample) and write `rows` synthetic rows to a Parquet file."""
    if rows < 1:
        raise UserInputError(f"--rows must be at least 1, got {rows}")
    output = Path(output_path)
    if output.suffix != ".parquet":
        raise UserInputError(f"--out {output}: synthetic data is written as Parquet (.parquet)")
    fitted_on = source or default_source(dataset, settings)[0]
    clean = dataset.clean(read_table(fitted_on), settings).data
    synthesizer = dataset.synthesizer(clean, seed)
    if synthesizer is None:
        raise UserInputError(f"{dataset.name} has no synthetic generator (datasets with one: "
                             f"{', '.join(synthesizable())})")
    # One stream of random numbers for the whole file, drawn chunk after chunk: the file
    # depends on the seed (and chunk size), never on timing.
    rng = np.random.default_rng(seed)
    written = 0
    with parquet_batches(output) as append:
        while written < rows:
            chunk = synthesizer.sample(min(chunk_rows, rows - written), rng)
            append(chunk)
            written += len(chunk)
    return SynthReport(rows=written, output=output, fitted_on=fitted_on, seed=seed)
