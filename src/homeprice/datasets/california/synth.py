"""California's synthetic generator: block groups drawn region by region, each region's
columns jointly normal on log/ratio scales as fitted on the real data, clipped to valid ranges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from homeprice.datasets.california.columns import NUMERIC_COLUMNS, OCEAN_PROXIMITY, TARGET_CAP

# Regions: k-means clusters of the coordinates (about 400 real block groups each on the full
# data), enough to keep coast against inland and city against desert apart.
REGIONS = 50
# The modelled scale of each home's columns: coordinates and age as they are, counts as
# per-household ratios (what varies by region) and log households, income and value as logs.
LATENT = ("longitude", "latitude", "housing_median_age", "log_rooms_per_household",
          "log_bedrooms_per_room", "log_people_per_household", "log_households",
          "log_median_income", "log_median_house_value")
# Valid ranges of the source (the census caps age at 52, income at 15.0001, value at 500001).
AGE_RANGE = (1.0, 52.0)
INCOME_RANGE = (0.4999, 15.0001)
VALUE_RANGE = (14_999.0, TARGET_CAP)


def latent(data: pd.DataFrame) -> np.ndarray:
    """Clean rows on the modelled scale (rows without bedrooms use the region's typical
    ratio: they are left out of that column's fit by the caller)."""
    households = data["households"].to_numpy(float)
    rooms = data["total_rooms"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = [
            data["longitude"].to_numpy(float), data["latitude"].to_numpy(float),
            data["housing_median_age"].to_numpy(float),
            np.log(rooms / households), np.log(data["total_bedrooms"].to_numpy(float) / rooms),
            np.log(data["population"].to_numpy(float) / households), np.log(households),
            np.log(data["median_income"].to_numpy(float)),
            np.log(data["median_house_value"].to_numpy(float)),
        ]
    return np.column_stack(columns)


@dataclass
class CaliforniaSynthesizer:
    """Per region: its share of homes, coordinate box, ocean proximity mix, and the mean and
    covariance of the latent columns."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    boxes: np.ndarray
    """Per region: min and max longitude, min and max latitude seen."""
    proximity: np.ndarray
    """Per region: the probability of each OCEAN_PROXIMITY value."""
    missing_bedrooms: float

    @classmethod
    def fit(cls, clean: pd.DataFrame, seed: int = 0) -> CaliforniaSynthesizer:
        """Fit on clean California rows (parsed, with the target)."""
        rows = clean[[*NUMERIC_COLUMNS, "median_house_value", "ocean_proximity"]].copy()
        rows = rows[(rows[["total_rooms", "population", "households", "median_income"]] > 0)
                    .all(axis=1)]
        z = latent(rows)
        k = min(REGIONS, max(1, len(rows) // 50))
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(z[:, :2])
        dims = z.shape[1]
        weights, means, covariances, boxes, proximity = [], [], [], [], []
        for region in range(k):
            part = z[labels == region]
            complete = part[np.isfinite(part).all(axis=1)]
            if len(complete) < dims + 2:  # too few homes for a covariance: use the pooled one
                complete = z[np.isfinite(z).all(axis=1)]
            weights.append(len(part))
            means.append(complete.mean(axis=0))
            # A small ridge keeps a near-degenerate region's covariance positive definite.
            covariances.append(np.cov(complete, rowvar=False) + np.eye(dims) * 1e-6)
            boxes.append([part[:, 0].min(), part[:, 0].max(), part[:, 1].min(), part[:, 1].max()])
            mix = rows["ocean_proximity"][labels == region].value_counts()
            proximity.append([mix.get(value, 0) for value in OCEAN_PROXIMITY])
        proximity_array = np.asarray(proximity, dtype=float)
        return cls(weights=np.asarray(weights, float) / len(rows), means=np.asarray(means),
                   covariances=np.asarray(covariances), boxes=np.asarray(boxes),
                   proximity=proximity_array / proximity_array.sum(axis=1, keepdims=True),
                   missing_bedrooms=float(rows["total_bedrooms"].isna().mean()))

    def sample(self, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """`rows` synthetic homes in the source format (columns and order of housing.csv)."""
        regions = rng.choice(len(self.weights), size=rows, p=self.weights)
        z = np.empty((rows, self.means.shape[1]))
        proximity = np.empty(rows, dtype=object)
        for region in np.unique(regions):
            at = np.flatnonzero(regions == region)
            z[at] = rng.multivariate_normal(self.means[region], self.covariances[region],
                                            size=len(at), method="cholesky")
            proximity[at] = rng.choice(np.asarray(OCEAN_PROXIMITY, dtype=object), size=len(at),
                                       p=self.proximity[region])
        box = self.boxes[regions]
        households = np.maximum(np.round(np.exp(z[:, 6])), 1.0)
        rooms = np.maximum(np.round(np.exp(z[:, 3]) * households), 1.0)
        bedrooms = np.clip(np.round(np.exp(z[:, 4]) * rooms), 1.0, rooms)
        bedrooms[rng.random(rows) < self.missing_bedrooms] = np.nan
        out = pd.DataFrame({
            "longitude": np.round(np.clip(z[:, 0], box[:, 0], box[:, 1]), 2),
            "latitude": np.round(np.clip(z[:, 1], box[:, 2], box[:, 3]), 2),
            "housing_median_age": np.round(np.clip(z[:, 2], *AGE_RANGE)),
            "total_rooms": rooms,
            "total_bedrooms": bedrooms,
            "population": np.maximum(np.round(np.exp(z[:, 5]) * households), 1.0),
            "households": households,
            "median_income": np.round(np.clip(np.exp(z[:, 7]), *INCOME_RANGE), 4),
            "median_house_value": np.round(np.clip(np.exp(z[:, 8]), *VALUE_RANGE)),
            "ocean_proximity": proximity,
        })
        return out
