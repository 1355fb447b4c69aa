"""Write data frames batch after batch into one Parquet file, all or nothing: the file's schema
is the first batch's, with a text column that batch holds no value of typed as text (Arrow
types an all-missing column null, which no later batch with values would fit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from homeprice.atomic import replacing


def batch_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema of `frame`, null-typed (all-missing) columns as strings."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(schema):
        if pa.types.is_null(field.type):
            schema = schema.set(i, field.with_type(pa.string()))
    return schema


@contextmanager
def parquet_batches(path: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function that appends a frame to the Parquet file at `path`; the file appears when
    the block ends without error, else the earlier file (if any) is left as it was. The
    block must append at least one frame (an empty one gives the columns)."""
    writer: pq.ParquetWriter | None = None

    with replacing(path) as temp:
        def append(frame: pd.DataFrame) -> None:
            nonlocal writer
            if writer is None:
                writer = pq.ParquetWriter(temp, batch_schema(frame))
            writer.write_table(pa.Table.from_pandas(frame, schema=writer.schema,
                                                    preserve_index=False))

        try:
            yield append
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"no frame was appended to {path}: nothing to write")
