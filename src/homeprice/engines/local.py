"""The local engine: pandas and pyarrow on this machine; cleaning and scoring read the file in
batches, so memory is bounded by the batch size (and, to clean, a few bytes per row), not by
the file's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from homeprice.atomic import replacing
from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.data.validation import QualityReport, build_report
from homeprice.datasets import Dataset
from homeprice.engines.base import (
    CleanReport,
    Engine,
    ScoreReport,
    check_score_input,
    existing_file,
    first_missing,
    missing_input_error,
    normalise_raw,
    output_schema,
    score_frame,
)
from homeprice.engines.local_clean import clean_streamed

# Rows per scored batch: large enough that per-batch overheads vanish, small enough that a
# batch with its features and predictions stays within tens of MB.
BATCH_ROWS = 65_536


class LocalEngine(Engine):
    """pandas/pyarrow in this process."""

    name = "local"

    def __init__(self, batch_rows: int = BATCH_ROWS) -> None:
        self.batch_rows = batch_rows

    def clean(self, dataset: Dataset, settings: Settings, input_path: str | Path,
              output_path: str | Path) -> CleanReport:
        """The dataset's clean plan over the file in batches (local_clean.py), so memory is
        bounded by the batch and a few bytes per row; a dataset without a plan, and a file
        without rows, cleaned whole by the dataset's own clean."""
        source = existing_file(input_path, "input")
        plan = dataset.clean_plan(settings)
        if plan is not None:
            report = clean_streamed(dataset, plan, source, Path(output_path), self.batch_rows)
            if report is not None:
                return report
        raw = normalise_raw(read_table(source))
        result = dataset.clean(raw, settings)
        output = Path(output_path)
        with replacing(output) as temp:
            result.data.to_parquet(temp, index=False)
        return CleanReport(rows_in=result.rows_in, dropped=result.dropped,
                           rows_out=result.rows_out, notes=dict(result.notes), output=output)

    def validate(self, dataset: Dataset, settings: Settings, input_path: str | Path,
                 source: str | None = None) -> QualityReport:
        """The dataset's pandera schema and quality measures over the whole file, read as
        `homeprice data validate --input` reads it."""
        label = source or str(input_path)
        return build_report(read_table(input_path, label), dataset, settings, label)

    def score(self, dataset: Dataset, model: Any, input_path: str | Path,
              output_path: str | Path, model_version: str,
              model_uri: str | None = None) -> ScoreReport:
        """Batch by batch: read, check, predict with `model`, append to the output file."""
        parquet = check_score_input(dataset, input_path)
        output = Path(output_path)
        rows = 0
        schema = output_schema(parquet.schema_arrow)
        with replacing(output) as temp, pq.ParquetWriter(temp, schema) as writer:
            for batch in parquet.iter_batches(batch_size=self.batch_rows):
                raw = batch.to_pandas()
                parsed = dataset.parse(normalise_raw(raw))
                missing = first_missing(dataset, parsed)
                if missing is not None:
                    raise missing_input_error(str(input_path), rows + missing[0] + 1,
                                              missing[1])
                scored = score_frame(dataset, model, raw, parsed, model_version)
                writer.write_table(pa.Table.from_pandas(scored, schema=schema,
                                                        preserve_index=False))
                rows += len(raw)
        return ScoreReport(rows=rows, output=output, model_version=model_version)
