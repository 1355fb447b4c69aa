"""`homeprice predict --model`: the file is priced by the chosen alias or version."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from typer.testing import CliRunner

from homeprice import registry
from homeprice.cli import app
from homeprice.config import Settings
from tests.support.registry import register_variant

runner = CliRunner()
CONSTANT = 123_456.0


def test_predict_with_the_challenger_or_a_version(serving_settings: Settings,
                                                  real_data_dir: Path, tmp_path: Path) -> None:
    """Guards --model: a challenger that prices every home at one constant is the one used
    when asked for (by alias and by number), and the champion otherwise."""
    constant = copy.deepcopy(registry.load_model("california", "1"))
    constant[-1].estimator_ = DummyRegressor(strategy="constant", constant=CONSTANT).fit(
        np.zeros((2, 3)), np.zeros(2))
    version = register_variant(serving_settings, constant)  # registered as the challenger
    source = tmp_path / "in.csv"
    pd.read_csv(real_data_dir / "california" / "housing.csv").head(25).to_csv(source,
                                                                              index=False)

    def predict(*model: str) -> pd.DataFrame:
        target = tmp_path / f"out-{'-'.join(model) or 'default'}.csv"
        result = runner.invoke(app, ["predict", "--dataset", "california", "--input",
                                     str(source), "--output", str(target), *model])
        assert result.exit_code == 0, result.output
        return pd.read_csv(target, dtype={"model_version": str})

    for chosen in (predict("--model", "challenger"), predict("--model", version)):
        assert (chosen["model_version"] == version).all()
        assert (chosen["prediction"] == CONSTANT).all()
    default = predict()
    assert (default["model_version"] == "1").all()
    assert default["prediction"].nunique() > 20

    missing = runner.invoke(app, ["predict", "--dataset", "california", "--input", str(source),
                                  "--output", str(tmp_path / "x.csv"), "--model", "9"])
    assert missing.exit_code != 0 and "homeprice-california/9" in missing.output
    assert not (tmp_path / "x.csv").exists()
