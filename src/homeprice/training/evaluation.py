"""Test metrics, interval quality, residuals by segment and diagnostic plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: training runs on servers without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from homeprice import artifacts  # noqa: E402
from homeprice.datasets import Dataset  # noqa: E402


def point_metrics(y: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R² and MAPE."""
    y = np.asarray(y, dtype=float)
    error = np.asarray(prediction, dtype=float) - y
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1 - np.sum(error**2) / total) if total > 0 else float("nan"),
        "mape": float(np.mean(np.abs(error) / np.abs(y))),
    }


def interval_metrics(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> dict[str, float]:
    """Empirical coverage and mean width of prediction intervals."""
    y = np.asarray(y, dtype=float)
    return {"interval_coverage": float(np.mean((y >= lower) & (y <= upper))),
            "interval_mean_width": float(np.mean(upper - lower))}


def predict_with_interval(model: Pipeline, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """(prediction, lower, upper) from a calibrated homeprice pipeline."""
    return model[-1].predict_interval(model[:-1].transform(X))


def evaluate(model: Pipeline, dataset: Dataset, test: pd.DataFrame) -> dict[str, float]:
    """Test metrics of a calibrated model: point metrics plus interval coverage and width."""
    X = test[list(dataset.feature_columns)]
    y = test[dataset.target].to_numpy(dtype=float)
    prediction, lower, upper = predict_with_interval(model, X)
    return point_metrics(y, prediction) | interval_metrics(y, lower, upper)


def residuals_by_segment(dataset: Dataset, test: pd.DataFrame, prediction: np.ndarray
                         ) -> pd.DataFrame:
    """Count, RMSE, MAE, MAPE and mean signed error per segment value."""
    y = test[dataset.target].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    for segmentation, labels in dataset.segments(test).items():
        for value in sorted(labels.unique()):
            mask = (labels == value).to_numpy()
            m = point_metrics(y[mask], prediction[mask])
            rows.append({"segmentation": segmentation, "segment": value, "rows": int(mask.sum()),
                         "rmse": m["rmse"], "mae": m["mae"], "mape": m["mape"],
                         "bias": float(np.mean(prediction[mask] - y[mask]))})
    return pd.DataFrame(rows)


def feature_importance(model: Pipeline) -> pd.Series:
    """Importance per model feature: tree importances, or |coefficient| of scaled linear models."""
    names = model[0].get_feature_names_out()
    estimator = model[-1].estimator_
    estimator = getattr(estimator, "regressor_", estimator)  # unwrap the log-target wrapper
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
    else:
        values = np.abs(np.ravel(estimator.coef_))
    total = values.sum()
    return pd.Series(values / total if total else values, index=names).sort_values(ascending=False)


def save_plots(model: Pipeline, dataset: Dataset, test: pd.DataFrame, prediction: np.ndarray,
               folder: Path) -> list[Path]:
    """Predicted vs actual, residuals vs predicted, and feature importance, as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    y = test[dataset.target].to_numpy(dtype=float)
    unit = dataset.target_unit
    paths = []

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(y, prediction, s=4, alpha=0.3)
    low, high = float(min(y.min(), prediction.min())), float(max(y.max(), prediction.max()))
    ax.plot([low, high], [low, high], color="black", linewidth=1)
    ax.set(xlabel=f"actual ({unit})", ylabel=f"predicted ({unit})",
           title=f"{dataset.name}: predicted vs actual (test)")
    paths.append(folder / artifacts.PREDICTED_VS_ACTUAL_PLOT)
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(prediction, y - prediction, s=4, alpha=0.3)
    ax.axhline(0, color="black", linewidth=1)
    ax.set(xlabel=f"predicted ({unit})", ylabel=f"actual - predicted ({unit})",
           title=f"{dataset.name}: residuals (test)")
    paths.append(folder / artifacts.RESIDUALS_PLOT)
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    importance = feature_importance(model).head(20)[::-1]
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh(importance.index, importance.to_numpy())
    ax.set(xlabel="share of importance", title=f"{dataset.name}: feature importance")
    paths.append(folder / artifacts.FEATURE_IMPORTANCE_PLOT)
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths
