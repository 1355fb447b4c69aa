"""`data synth`: deterministic by seed, realistic (region structure kept, rows clean), and
refusing what it cannot write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.config import Settings
from homeprice.data.synth import write_synthetic
from homeprice.datasets import get_dataset
from homeprice.errors import UserInputError

runner = CliRunner()


def test_same_seed_same_file_other_seed_other_rows(home: Path, tmp_path: Path) -> None:
    """Guards determinism through the CLI: two runs with one seed write equal rows."""
    paths = [tmp_path / f"{name}.parquet" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("7", "7", "8"), strict=True):
        result = runner.invoke(app, ["data", "synth", "--dataset", "california", "--rows",
                                     "3000", "--out", str(path), "--seed", seed])
        assert result.exit_code == 0, result.output
    first, again, other = (pd.read_parquet(p) for p in paths)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 3000 and list(first.columns) == list(
        get_dataset("california").raw_columns)
    assert not first["longitude"].equals(other["longitude"])


def test_synthetic_rows_are_clean_and_keep_regional_structure(settings: Settings,
                                                              tmp_path: Path) -> None:
    """Guards realism: the rows pass the cleaning rules, and the coast-against-inland price
    gap and the income-value correlation of the real data survive (independent columns
    would lose both)."""
    dataset = get_dataset("california")
    path = tmp_path / "synth.parquet"
    write_synthetic(dataset, settings, 20_000, path, seed=1, chunk_rows=6_000)
    synthetic = pd.read_parquet(path)
    result = dataset.clean(synthetic, settings)
    assert sum(result.dropped.values()) < len(synthetic) * 0.01
    real = dataset.clean(pd.read_csv(dataset.sample_path, dtype=str), settings).data

    def gap(data: pd.DataFrame) -> float:
        by = data.groupby("ocean_proximity")["median_house_value"].median()
        return float(by["NEAR BAY"] / by["INLAND"])

    def correlation(data: pd.DataFrame) -> float:
        return float(np.corrcoef(np.log(data["median_income"]),
                                 np.log(data["median_house_value"]))[0, 1])

    assert gap(result.data) == pytest.approx(gap(real), rel=0.25)
    assert correlation(result.data) == pytest.approx(correlation(real), abs=0.1)
    assert correlation(result.data) > 0.5


def test_bad_requests_are_refused(settings: Settings, tmp_path: Path) -> None:
    """Guards the checks: a non-Parquet output and a dataset without a generator."""
    with pytest.raises(UserInputError, match="written as Parquet"):
        write_synthetic(get_dataset("california"), settings, 10, tmp_path / "x.csv")
    with pytest.raises(UserInputError, match="bengaluru has no synthetic generator"):
        write_synthetic(get_dataset("bengaluru"), settings, 10, tmp_path / "x.parquet")
