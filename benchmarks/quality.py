"""Model quality: every tuned candidate next to the seed baselines, trained on the same split.

The peers are the seeds' baselines with default parameters on plain features (numeric inputs
median-imputed, categories one-hot): LinearRegression, DecisionTree, RandomForest(100). The
ratio column is test RMSE / RMSE of the seed RandomForest (below 1 is better).

    .venv/bin/python benchmarks/quality.py --budget default --dataset all
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeRegressor

from homeprice.config import load_settings
from homeprice.data.splitting import Split
from homeprice.datasets import get_dataset
from homeprice.pipeline import resolve_datasets, run_pipeline
from homeprice.training import runner
from homeprice.training.evaluation import point_metrics

SEEDS = {
    "seed Linear": LinearRegression,
    "seed DecisionTree": lambda: DecisionTreeRegressor(random_state=42),
    "seed RandomForest(100)": lambda: RandomForestRegressor(100, random_state=42, n_jobs=2),
}
CATEGORICAL = {"california": ["ocean_proximity"], "bengaluru": ["area_type"]}


def seed_baselines(name: str, split: Split) -> dict[str, dict[str, float]]:
    """Test metrics of the seed models on plain features."""
    dataset = get_dataset(name)
    categorical = CATEGORICAL[name]
    numeric = [c for c in dataset.feature_columns
               if c not in categorical and c not in ("location", "society")]
    results = {}
    for label, make in SEEDS.items():
        prep = ColumnTransformer([
            ("num", SimpleImputer(strategy="median"), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), categorical)])
        model = make_pipeline(prep, make()).fit(split.train, split.train[dataset.target])
        results[label] = point_metrics(split.test[dataset.target].to_numpy(),
                                       model.predict(split.test))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="default")
    parser.add_argument("--dataset", default="all")
    args = parser.parse_args()
    console = Console(width=150)
    with tempfile.TemporaryDirectory(prefix="homeprice-bench-") as home:
        os.environ["HOMEPRICE_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        settings = load_settings()
        for name in resolve_datasets(args.dataset):
            dataset = get_dataset(name)
            [run] = run_pipeline(name, settings, budget=None)  # the data steps only
            started = time.perf_counter()
            outcome = runner.train(dataset, settings, args.budget, run.cleaned.version)
            seconds = time.perf_counter() - started
            split, _ = runner.load_split(dataset, settings, run.cleaned.version)
            seeds = seed_baselines(name, split)
            peer = seeds["seed RandomForest(100)"]["rmse"]
            table = Table(title=f"{name}: test metrics ({dataset.target_unit}), budget "
                                f"{args.budget}, train step {seconds:.0f}s; ratio = RMSE / "
                                f"seed RandomForest(100) RMSE")
            for column in ("model", "RMSE", "MAE", "R²", "MAPE", "90% coverage", "mean width",
                           "ratio"):
                table.add_column(column, justify="left" if column == "model" else "right")
            rows = [(f"{c.name}{' (chosen)' if c.name == outcome.best else ''}", c.test)
                    for c in outcome.candidates] + list(seeds.items())
            for label, m in rows:
                table.add_row(label, f"{m['rmse']:,.1f}", f"{m['mae']:,.1f}", f"{m['r2']:.3f}",
                              f"{m['mape']:.1%}",
                              f"{m['interval_coverage']:.3f}" if "interval_coverage" in m else "",
                              f"{m['interval_mean_width']:,.0f}" if "interval_mean_width" in m
                              else "", f"{m['rmse'] / peer:.3f}")
            console.print(table)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
