"""The local engine's batched clean gives exactly the whole-frame clean (`dataset.clean` over
`read_table`): rows, values, drops by reason and notes, with copies in other batches than
their first, on every dataset with a clean plan and both source formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.datasets import get_dataset
from homeprice.engines import get_engine
from homeprice.engines.base import normalise_raw
from homeprice.engines.local_clean import later_copies, row_hashes
from homeprice.errors import DataValidationError
from tests.support.dirty import dirty_copy

BATCH = 97  # prime, so batch edges fall mid-run of every pattern in the dirty copies


def whole_clean(name: str, settings: Settings, source: Path) -> tuple[pd.DataFrame, dict, dict]:
    """The reference: the dataset's own clean of the whole file read at once."""
    result = get_dataset(name).clean(normalise_raw(read_table(source)), settings)
    return result.data, result.dropped, dict(result.notes)


@pytest.mark.parametrize("name", ["california", "bengaluru", "magicbricks"])
def test_batched_clean_equals_the_whole_file_clean(name: str, settings: Settings,
                                                   tmp_path: Path) -> None:
    """Guards the split into per-batch evidence and whole-file decisions: a duplicate rule
    decided per batch, or a rule order broken, changes rows or counts here."""
    source = dirty_copy(name, tmp_path)
    report = get_engine("local", batch_rows=BATCH).clean(get_dataset(name), settings, source,
                                                        tmp_path / "clean.parquet")
    data, dropped, notes = whole_clean(name, settings, source)

    assert report.dropped == dropped and report.notes == notes
    assert sum(v > 0 for v in dropped.values()) >= 1 and report.rows_in > 3 * BATCH
    assert (report.rows_in, report.rows_out) == (sum(dropped.values()) + len(data), len(data))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "clean.parquet"), data)


def test_copies_across_batches_of_other_column_types_are_found(settings: Settings,
                                                               tmp_path: Path) -> None:
    """Guards the hash's canonical numbers: a Parquet integer column reads as int64 in a batch
    without nulls and as float64 in one with them, and a copy must still match its first."""
    dataset = get_dataset("bengaluru")
    rows = read_table(dataset.sample_path).head(3 * BATCH)
    balcony = pd.to_numeric(rows["balcony"]).fillna(1).astype("Int64")
    rows["balcony"] = balcony.where(rows.index < 2 * BATCH)  # nulls in the last batch only
    copies = rows.iloc[10:3 * BATCH:3]
    source = tmp_path / "typed.parquet"
    # Without pandas' metadata, as other writers store it: an int64 column with nulls.
    pq.write_table(pa.Table.from_pandas(pd.concat([rows, copies], ignore_index=True),
                                        preserve_index=False).replace_schema_metadata(None),
                   source)
    read = [b.to_pandas()["balcony"].dtype for b in
            pq.ParquetFile(source).iter_batches(batch_size=BATCH)]
    assert read[0] == "int64" and read[-1] == "float64"  # the case this test is about

    report = get_engine("local", batch_rows=BATCH).clean(dataset, settings, source,
                                                        tmp_path / "clean.parquet")
    data, dropped, notes = whole_clean("bengaluru", settings, source)
    assert report.dropped == dropped and dropped["duplicate_listing"] >= len(copies)
    assert report.notes == notes
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "clean.parquet"), data)


def test_row_hashes_match_exactly_when_pandas_calls_rows_equal() -> None:
    """Guards the canonical form: 0.0 and -0.0, NaNs, an integer and its float are one value
    to `duplicated`; text and numbers, and other values, are not."""
    ints = pd.DataFrame({"a": [1, 0, 2], "b": ["x", "y", None]})
    floats = pd.DataFrame({"a": [1.0, -0.0, 2.0], "b": ["x", "y", None]})
    assert (row_hashes(ints) == row_hashes(floats)).all()
    nan = pd.DataFrame({"a": [np.nan, float("nan")], "b": [None, None]})
    assert later_copies(row_hashes(nan)).tolist() == [False, True]
    other = pd.DataFrame({"a": [1.0, 1.0, 1.5], "b": ["1", "x ", "x"]})
    assert not later_copies(np.concatenate([row_hashes(floats), row_hashes(other)])).any()


def test_a_fault_past_the_first_batch_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    """Guards all-or-nothing: a ragged row found in a later batch names the file, and the
    output that was there is left as it was."""
    dataset = get_dataset("california")
    lines = dataset.sample_path.read_text().splitlines()
    source = tmp_path / "ragged.csv"
    source.write_text("\n".join([*lines[:3000], lines[3000] + ",1,2,3", *lines[3001:]]) + "\n")
    output = tmp_path / "clean.parquet"
    output.write_bytes(b"earlier clean")
    with pytest.raises(DataValidationError, match=r"ragged\.csv: not a readable CSV"):
        get_engine("local", batch_rows=BATCH).clean(dataset, settings, source, output)
    assert output.read_bytes() == b"earlier clean"
    assert {p.name for p in tmp_path.iterdir()} == {"ragged.csv", "clean.parquet"}


def test_a_file_without_rows_cleans_to_its_columns(settings: Settings, tmp_path: Path) -> None:
    """Guards the edge: a header-only CSV and an empty Parquet file give empty clean tables."""
    dataset = get_dataset("california")
    header = dataset.sample_path.read_text().splitlines()[0]
    csv = tmp_path / "empty.csv"
    csv.write_text(header + "\n")
    parquet = tmp_path / "empty.parquet"
    read_table(csv).to_parquet(parquet, index=False)
    for source in (csv, parquet):
        report = get_engine("local").clean(dataset, settings, source, tmp_path / "out.parquet")
        assert (report.rows_in, report.rows_out) == (0, 0)
        assert set(report.dropped.values()) == {0}
        assert pd.read_parquet(tmp_path / "out.parquet").empty
