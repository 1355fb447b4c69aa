"""Model quality over five seeded 90/10 splits: homeprice's chosen model beside seed baselines.

Each split holds out 10% of the whole clean data as test rows (stratified as the pipeline
splits, seed = split number); homeprice trains on the other 90% with the given budget exactly
as `pipeline run` does (tuning, cross-fitted intervals, choice on CV) and is scored on the 10%.
The peers, on the same splits, are the seeds' baselines with default parameters on plain
features (numeric inputs median-imputed, categories one-hot): LinearRegression, DecisionTree,
RandomForest(100). The table gives the mean and standard deviation over the splits; the ratio
column is mean RMSE / mean RMSE of the seed RandomForest (below 1 is better).

    .venv/bin/python benchmarks/quality.py --budget default --dataset all

`--levers` instead measures what each modelling lever contributes (an ablation with
LightGBM's first-trial parameters, untuned, on the same test rows): plain features fitted on
70% with split-conformal calibration on 20% (the old recipe), then adding neighbourhood
prices, then the location premium (California), then refitting on all 90% with cross-fitted
calibration, then clipping point predictions to the training target range. Tuning's own share
is the difference between the last lever row and the default-budget table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeRegressor

from homeprice.config import Settings, SplitSettings, load_settings
from homeprice.data.splitting import Split
from homeprice.datasets import get_dataset
from homeprice.pipeline import resolve_datasets, run_pipeline
from homeprice.training import runner
from homeprice.training.candidates import CANDIDATES, build_pipeline
from homeprice.training.evaluation import evaluate, point_metrics
from homeprice.training.fitting import fit_calibrated

SEEDS = {
    "seed Linear": LinearRegression,
    "seed DecisionTree": lambda: DecisionTreeRegressor(random_state=42),
    "seed RandomForest(100)": lambda: RandomForestRegressor(100, random_state=42, n_jobs=2),
}
CATEGORICAL = {"california": ["ocean_proximity"], "bengaluru": ["area_type"]}
PEER = "seed RandomForest(100)"
METRICS = (("RMSE", "rmse", "{:,.1f}"), ("MAE", "mae", "{:,.1f}"), ("R²", "r2", "{:.3f}"),
           ("MAPE", "mape", "{:.1%}"), ("90% coverage", "interval_coverage", "{:.3f}"),
           ("mean width", "interval_mean_width", "{:,.0f}"))


def seed_baselines(name: str, split: Split) -> dict[str, dict[str, float]]:
    """Test metrics of the seed models on plain features."""
    dataset = get_dataset(name)
    categorical = CATEGORICAL[name]
    numeric = [c for c in dataset.feature_columns
               if c not in categorical and c not in ("location", "society")]
    train = split.train  # the 90% (the 90/10 splits set no calibration rows aside)
    results = {}
    for label, make in SEEDS.items():
        prep = ColumnTransformer([
            ("num", SimpleImputer(strategy="median"), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), categorical)])
        model = make_pipeline(prep, make()).fit(train, train[dataset.target])
        results[label] = point_metrics(split.test[dataset.target].to_numpy(),
                                       model.predict(split.test))
    return results


def ninety_ten(seed: int) -> SplitSettings:
    """A 90/10 split: calibration comes from cross-fitting, so no rows are set aside for it."""
    return SplitSettings(seed=seed, train=0.9, calibration=0.0, test=0.1)


def homeprice_on(name: str, settings: Settings, budget: str, clean_version: str,
                 ) -> tuple[dict[str, dict[str, float]], Split, float]:
    """The chosen model's test metrics (and the seeds') on this settings' split."""
    dataset = get_dataset(name)
    started = time.perf_counter()
    outcome = runner.train(dataset, settings, budget, clean_version)
    seconds = time.perf_counter() - started
    split, _ = runner.load_split(dataset, settings, clean_version)
    chosen = next(c for c in outcome.candidates if c.name == outcome.best)
    return {f"homeprice ({budget}, chosen)": chosen.test} | seed_baselines(name, split), split, \
        seconds


def levers_on(name: str, settings: Settings, clean_version: str, seed: int
              ) -> dict[str, dict[str, float]]:
    """Untuned LightGBM, one lever added per row (the ablation)."""
    dataset = get_dataset(name)
    target, columns = dataset.target, list(dataset.feature_columns)
    log_target = dataset.rules(settings).log_target
    old = settings.model_copy(update={"split": SplitSettings(seed=seed, train=0.7,
                                                              calibration=0.2, test=0.1)})
    split, _ = runner.load_split(dataset, old, clean_version)
    candidate = CANDIDATES["lightgbm"]
    train = split.train[columns], split.train[target]
    calibration = split.calibration[columns], split.calibration[target]

    def model(neighbours: bool, premium: bool = True, clip: bool = False) -> object:
        built = build_pipeline(name, candidate, candidate.defaults, seed=seed, n_jobs=2,
                               log_target=log_target)
        features = built[0].get_params()
        if not neighbours and "neighbours" in features:
            built[0].set_params(neighbours=None)
        if "income_premium" in features:
            built[0].set_params(income_premium=premium)
        built[-1].set_params(clip=clip)
        return built

    variants: dict[str, Callable[[], object]] = {
        "LightGBM untuned (first trial), 70% fit, split calibration": lambda: fit_calibrated(
            model(False), train, calibration, how="split", folds=5, seed=seed),
        "+ neighbourhood prices": lambda: fit_calibrated(
            model(True, premium=False), train, calibration, how="split", folds=5, seed=seed),
    }
    if name == "california":
        variants["+ location premium"] = lambda: fit_calibrated(
            model(True), train, calibration, how="split", folds=5, seed=seed)
    variants |= {
        "+ refit on 90%, cross-fitted calibration": lambda: fit_calibrated(
            model(True), train, calibration, how="cross", folds=5, seed=seed),
        "+ predictions clipped to the training range": lambda: fit_calibrated(
            model(True, clip=True), train, calibration, how="cross", folds=5, seed=seed),
    }
    return {label: evaluate(make(), dataset, split.test) for label, make in variants.items()}


def summarise(console: Console, title: str, per_split: list[dict[str, dict[str, float]]]) -> None:
    """Mean ± standard deviation over splits, one row per model."""
    table = Table(title=title)
    table.add_column("model", justify="left")
    for header, _, _ in METRICS:
        table.add_column(header, justify="right")
    table.add_column("ratio", justify="right")
    peer = np.mean([split[PEER]["rmse"] for split in per_split]) if PEER in per_split[0] else None
    for label in per_split[0]:
        cells = []
        for _, key, form in METRICS:
            values = [split[label][key] for split in per_split if key in split[label]]
            cells.append(f"{form.format(np.mean(values))} ± {form.format(np.std(values))}"
                         if values else "")
        mean_rmse = np.mean([split[label]["rmse"] for split in per_split])
        cells.append(f"{mean_rmse / peer:.3f}" if peer else "")
        table.add_row(label, *cells)
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="default")
    parser.add_argument("--dataset", default="all")
    parser.add_argument("--splits", type=int, default=5, help="seeded 90/10 splits (seeds 1..N)")
    parser.add_argument("--levers", action="store_true",
                        help="the untuned ablation of each modelling lever instead")
    args = parser.parse_args()
    console = Console(width=170)
    with tempfile.TemporaryDirectory(prefix="homeprice-bench-") as home:
        os.environ["HOMEPRICE_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        base = load_settings()
        for name in resolve_datasets(args.dataset):
            [run] = run_pipeline(name, base, budget=None)  # the data steps only
            results, seconds = [], []
            for seed in range(1, args.splits + 1):
                settings = base.model_copy(update={"split": ninety_ten(seed)})
                if args.levers:
                    results.append(levers_on(name, settings, run.cleaned.version, seed))
                    continue
                metrics, split, took = homeprice_on(name, settings, args.budget,
                                                    run.cleaned.version)
                results.append(metrics)
                seconds.append(took)
                chosen = metrics[next(iter(metrics))]
                console.print(f"{name} split {seed}: {len(split.train)} fit / {len(split.test)} "
                              f"test rows, train step {took:.0f}s: " + ", ".join(
                                  f"{header} {form.format(chosen[key])}"
                                  for header, key, form in METRICS) +
                              f"; {PEER} RMSE {metrics[PEER]['rmse']:,.1f}")
            unit = get_dataset(name).target_unit
            what = ("levers, untuned LightGBM" if args.levers else
                    f"budget {args.budget}, mean train step {np.mean(seconds):.0f}s")
            summarise(console, f"{name}: test metrics ({unit}), mean ± sd over {args.splits} "
                               f"seeded 90/10 splits, {what}; ratio = mean RMSE / "
                               f"{PEER} mean RMSE", results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
