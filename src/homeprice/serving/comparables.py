"""The comparables service: for each home, the k most similar training homes of the champion
model, their weighted-median estimate and range beside the model's price, and whether the two
agree. Free of the web framework (typed errors carry their HTTP status).

Comparables are a lookup, not a served prediction: nothing is logged or shadow-scored, and
the model's price is quoted without a prediction_id (POST /predict makes priced records).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeprice import registry
from homeprice.comparables import ComparablesIndex, comparables_of
from homeprice.datasets import get_dataset
from homeprice.errors import UnavailableError, UnsupportedError, UserInputError
from homeprice.serving.fastpath import to_columns
from homeprice.serving.modelstore import LoadedModel, ModelStore
from homeprice.serving.pricing import finite

AGREEMENT = ("within", "above", "below")


class ComparablesCountError(UserInputError):
    """`k` is more comparables than the model's index holds (HTTP 422, like any bad field)."""

    http_status = 422


def agreement(price: float, low: float, high: float) -> str:
    """Where the model's price lies against the comps' price range."""
    if price > high:
        return "above"
    if price < low:
        return "below"
    return "within"


def _note(flag: str, low: float, high: float, unit: str) -> str:
    span = f"{low:,.6g} to {high:,.6g} {unit}"
    if flag == "within":
        return f"the model price is within the comps range ({span})"
    return f"the model price is {flag} the comps range ({span}): check this valuation"


class ComparablesService:
    """Comparable homes for the datasets one app serves."""

    def __init__(self, datasets: Iterable[str], store: ModelStore) -> None:
        self._store = store
        self._datasets = {d: get_dataset(d) for d in datasets}

    def index_of(self, dataset: str) -> tuple[LoadedModel, ComparablesIndex]:
        """The loaded champion and its comparables index (501 when it has none)."""
        loaded = self._store.get(dataset, registry.CHAMPION)
        if loaded is None:
            raise UnavailableError(f"no champion model of {dataset} is loaded yet")
        index = comparables_of(loaded.model)
        if index is None:
            raise UnsupportedError(
                f"model v{loaded.version} of {dataset} has no comparables: it was registered "
                "before comparables existed (or its dataset declares no similarity); train a "
                f"new version (homeprice pipeline run --dataset {dataset}) to get them")
        return loaded, index

    def find(self, dataset: str, rows: list[dict[str, Any]], k: int
             ) -> tuple[LoadedModel, list[dict[str, Any]]]:
        """For each row: the model's price and interval, the k comps, their estimate and
        range, and whether the model's price lies within that range."""
        loaded, index = self.index_of(dataset)
        if k > index.max_k:
            raise ComparablesCountError(f"k: {k} is more than the {index.max_k} comparables "
                                        f"model v{loaded.version} of {dataset} can give")
        spec = self._datasets[dataset]
        columns = to_columns(rows, spec.feature_columns)
        price, lower, upper = finite(loaded, loaded.predictor.predict(columns))
        found = index.query(columns, k)
        estimate = index.estimate(found)
        answers = []
        for i in range(len(rows)):
            flag = agreement(float(price[i]), float(estimate.low[i]), float(estimate.high[i]))
            answers.append({
                "price": float(price[i]), "lower": float(lower[i]), "upper": float(upper[i]),
                "comps_estimate": float(estimate.price[i]),
                "comps_low": float(estimate.low[i]), "comps_high": float(estimate.high[i]),
                "agreement": flag,
                "note": _note(flag, float(estimate.low[i]), float(estimate.high[i]),
                              spec.target_unit),
                "model_version": loaded.version,
                "comparables": index.records(found, i)})
        return loaded, answers
