"""`homeprice predict --comparables K`: each row gets its K comps' ids, prices and distances
(the API's comps for the same home), their estimate, range and agreement; bad K and models
registered before comparables existed exit 2 with the reason, writing nothing."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from homeprice import registry
from homeprice.cli import app
from homeprice.comparables import COMPARABLES_ATTRIBUTE
from homeprice.config import Settings
from tests.support.registry import register_variant

runner = CliRunner()
FILES = {"california": "housing.csv", "bengaluru": "Bengaluru_House_Data.csv"}


def _source(real_data_dir: Path, tmp_path: Path, dataset: str) -> Path:
    source = tmp_path / f"{dataset}.csv"
    pd.read_csv(real_data_dir / dataset / FILES[dataset]).head(30).to_csv(source, index=False)
    return source


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
def test_each_row_gets_its_comparables(serving_settings: Settings, real_data_dir: Path,
                                       tmp_path: Path, client: TestClient, dataset: str) -> None:
    source, target = _source(real_data_dir, tmp_path, dataset), tmp_path / "out.csv"
    result = runner.invoke(app, ["predict", "--dataset", dataset, "--input", str(source),
                                 "--output", str(target), "--comparables", "3"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target)
    assert len(out) == 30
    for j in (1, 2, 3):
        assert out[f"comp_{j}_id"].str.match(r"^(train|calibration):\d+$").all()
        assert (out[f"comp_{j}_price"] > 0).all()
    prices = out[[f"comp_{j}_price" for j in (1, 2, 3)]]
    assert (out["comps_low"] == prices.min(axis=1)).all()
    assert (out["comps_high"] == prices.max(axis=1)).all()
    assert out["comps_agreement"].isin(["within", "above", "below"]).all()
    if dataset == "california":
        distances = out[[f"comp_{j}_distance" for j in (1, 2, 3)]].astype(float)
        assert (distances >= 0).all().all()
    else:
        assert out["comp_1_distance"].isin(["same locality", "other locality"]).all()
    # The same comps as the API gives for the first home (its source row as the request).
    target_column = {"california": "median_house_value", "bengaluru": "price"}[dataset]
    first = pd.read_csv(source).iloc[0].drop(target_column)
    body = {c: v.item() if hasattr(v, "item") else v for c, v in first.items() if pd.notna(v)}
    api = client.post(f"/v1/{dataset}/comparables?k=3", json=body)
    assert api.status_code == 200, api.text
    assert [c["id"] for c in api.json()["comparables"]] == [out[f"comp_{j}_id"][0]
                                                            for j in (1, 2, 3)]


def test_bad_count_and_old_models_exit_2(serving_settings: Settings, real_data_dir: Path,
                                         tmp_path: Path) -> None:
    source, target = _source(real_data_dir, tmp_path, "california"), tmp_path / "out.csv"
    args = ["predict", "--dataset", "california", "--input", str(source), "--output",
            str(target)]
    bad = runner.invoke(app, [*args, "--comparables", "500"])
    assert bad.exit_code == 2 and "--comparables" in bad.output
    old = copy.deepcopy(registry.load_model("california", "1"))
    delattr(old, COMPARABLES_ATTRIBUTE)
    version = register_variant(serving_settings, old)
    refused = runner.invoke(app, [*args, "--comparables", "5", "--model", version])
    assert refused.exit_code == 2, refused.output
    assert "has no comparables" in refused.output
    assert not target.exists()
