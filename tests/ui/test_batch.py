"""Batch: an uploaded source-format CSV is priced in chunks; a bad row is listed with why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.ui import open_page


def _upload(app: AppTest, frame: pd.DataFrame) -> AppTest:
    app.file_uploader(key="batch-upload-california").set_value(
        ("homes.csv", frame.to_csv(index=False).encode(), "text/csv"))
    return app.run()


def test_a_file_is_priced_and_the_bad_row_listed(ui: AppTest, real_data_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_UI__BATCH_CHUNK_ROWS", "4")  # three chunks for ten rows
    homes = pd.read_csv(real_data_dir / "california" / "housing.csv", nrows=10)
    homes.loc[2, "latitude"] = 99.0  # data row 3 is not in California
    app = _upload(open_page(ui, "batch"), homes)
    assert not app.exception and not app.error, [e.value for e in app.error]

    priced, rejected = (frame.value for frame in app.dataframe)
    assert len(priced) == 9 and (priced["price"] > 0).all()
    assert (priced["lower"] <= priced["price"]).all() and (priced["price"] <= priced["upper"]).all()
    # The uploaded columns are kept, the actual price too (it is not sent).
    assert list(priced["median_house_value"]) == list(homes.drop(index=2)["median_house_value"])
    assert rejected.to_dict(orient="records") == [
        {"row": 3, "reason": "latitude: Input should be less than or equal to 42.5"}]
    assert app.get("download_button")
    assert app.get("progress")[0].proto.value == 100


def test_a_missing_required_column_is_named(ui: AppTest, real_data_dir: Path) -> None:
    homes = pd.read_csv(real_data_dir / "california" / "housing.csv", nrows=3)
    app = _upload(open_page(ui, "batch"), homes.drop(columns=["households"]))
    assert "lacks required column(s) households" in app.error[0].value
