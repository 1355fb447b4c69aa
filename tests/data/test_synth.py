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


@pytest.mark.parametrize(("name", "varying"), [("california", "longitude"),
                                               ("bengaluru", "price")])
def test_same_seed_same_file_other_seed_other_rows(home: Path, tmp_path: Path, name: str,
                                                   varying: str) -> None:
    """Guards determinism through the CLI: two runs with one seed write equal rows."""
    paths = [tmp_path / f"{run}.parquet" for run in ("a", "b", "c")]
    for path, seed in zip(paths, ("7", "7", "8"), strict=True):
        result = runner.invoke(app, ["data", "synth", "--dataset", name, "--rows",
                                     "3000", "--out", str(path), "--seed", seed])
        assert result.exit_code == 0, result.output
    first, again, other = (pd.read_parquet(p) for p in paths)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 3000 and list(first.columns) == list(get_dataset(name).raw_columns)
    assert not first[varying].equals(other[varying])


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


def test_bengaluru_rows_are_source_format_clean_and_keep_location_structure(
        settings: Settings, tmp_path: Path) -> None:
    """Guards Bengaluru's realism: the rows are source text the raw schema accepts, pass the
    cleaning rules, keep the real share of missing values, and keep what independent columns
    would lose: the price per square foot of an expensive against a cheap large location, and
    the area-price correlation across the city and within locations."""
    dataset = get_dataset("bengaluru")
    path = tmp_path / "synth.parquet"
    write_synthetic(dataset, settings, 5_000, path, seed=3, chunk_rows=2_000)
    synthetic = pd.read_parquet(path)
    dataset.raw_schema(settings).validate(synthetic)
    assert synthetic["size"].dropna().str.fullmatch(r"\d+ (BHK|Bedroom)").all()
    assert synthetic["availability"].str.fullmatch(r"Ready To Move|\d\d-[A-Z][a-z]{2}").all()
    result = dataset.clean(synthetic, settings)
    assert sum(result.dropped.values()) < len(synthetic) * 0.01
    real = dataset.clean(pd.read_csv(dataset.sample_path, dtype=str), settings).data
    for column in ("society", "bath", "balcony"):
        assert 0 < synthetic[column].isna().mean() == pytest.approx(
            real[column].isna().mean(), abs=0.03)

    def log_price_per_sqft(data: pd.DataFrame) -> pd.Series:
        return np.log(data["price"] / data["total_sqft"])

    counts = real["location"].value_counts()
    level = log_price_per_sqft(real).groupby(real["location"]).mean()[counts[counts >= 80].index]
    dear, cheap = level.idxmax(), level.idxmin()

    def gap(data: pd.DataFrame) -> float:
        # Geometric means: the model is log-normal within a location.
        by = log_price_per_sqft(data).groupby(data["location"]).mean()
        return float(np.exp(by[dear] - by[cheap]))

    def within(data: pd.DataFrame) -> float:
        data = data[data["location"].map(data["location"].value_counts()) >= 30]
        logs = np.log(data[["total_sqft", "price"]])
        centred = logs - logs.groupby(data["location"]).transform("mean")
        return float(centred.corr().iloc[0, 1])

    def across(data: pd.DataFrame) -> float:
        return float(np.log(data[["total_sqft", "price"]]).corr().iloc[0, 1])

    assert gap(real) > 2.5
    assert gap(result.data) == pytest.approx(gap(real), rel=0.2)
    assert across(result.data) == pytest.approx(across(real), abs=0.05)
    assert within(result.data) == pytest.approx(within(real), abs=0.05)


def test_bad_requests_are_refused(settings: Settings, tmp_path: Path) -> None:
    """Guards the checks: a non-Parquet output and a dataset without a generator (named with
    the datasets that have one)."""
    with pytest.raises(UserInputError, match="written as Parquet"):
        write_synthetic(get_dataset("california"), settings, 10, tmp_path / "x.csv")
    with pytest.raises(UserInputError, match="magicbricks has no synthetic generator "
                                             r"\(datasets with one: california, bengaluru\)"):
        write_synthetic(get_dataset("magicbricks"), settings, 10, tmp_path / "x.parquet")
