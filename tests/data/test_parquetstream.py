"""Batched Parquet writing: one schema for every batch, all or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeprice.data.parquetstream import parquet_batches


def test_a_text_column_empty_in_the_first_batch_takes_text_later(tmp_path: Path) -> None:
    """Guards the schema: Arrow types an all-missing column null, which later text would not
    fit; it is written as text and read back with every value."""
    path = tmp_path / "out.parquet"
    with parquet_batches(path) as append:
        # Text columns come as object dtype (normalise_raw), so one without values stays so.
        append(pd.DataFrame({"society": pd.Series([np.nan, None], dtype=object),
                             "price": [1.0, 2.0]}))
        append(pd.DataFrame({"society": ["Sobha", None], "price": [3.0, 4.0]}))
    back = pd.read_parquet(path)
    assert back["society"].tolist()[2] == "Sobha" and back["society"].isna().sum() == 3
    assert back["price"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_failing_block_leaves_the_earlier_file(tmp_path: Path) -> None:
    """Guards all-or-nothing: an error after some batches keeps the old file and no temp."""
    path = tmp_path / "out.parquet"
    path.write_bytes(b"earlier")
    with pytest.raises(RuntimeError, match="midway"), parquet_batches(path) as append:
        append(pd.DataFrame({"a": [1.0]}))
        raise RuntimeError("midway")
    assert path.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
    with pytest.raises(ValueError, match="nothing to write"), parquet_batches(path):
        pass
    assert path.read_bytes() == b"earlier"
