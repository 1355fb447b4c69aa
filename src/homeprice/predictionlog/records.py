"""What callers hand to and get refused by the prediction log: PredictionRecord, RequestRecords
(the rows of one request by column) and typed errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from homeprice.errors import HomepriceError, UnavailableError


# Not frozen: a frozen dataclass is built through object.__setattr__ field by field, and one
# record is built per priced home on the request path (measured 9.0 us frozen vs 3.7 us with
# slots alone per record). Nothing changes a record after it is built.
@dataclass(slots=True)
class PredictionRecord:
    """One logged prediction (served, or shadow: computed and logged but not returned)."""

    prediction_id: str
    request_id: str
    ts: datetime
    dataset: str
    variant: str
    model_version: str
    served: bool
    prediction: float
    lower: float
    upper: float
    features: dict[str, Any]
    client_id: str | None = None
    latency_ms: float | None = None
    # Shadow predictions: the prediction_id of the served prediction they shadow.
    parent_prediction_id: str | None = None
    # The effective traffic mode the request was routed under: off, split or shadow.
    mode: str | None = None


# The per-row fields of RequestRecords, in PredictionRecord's terms.
_PER_ROW = ("prediction_ids", "prices", "lowers", "uppers", "features")


@dataclass(slots=True)
class RequestRecords:
    """The log rows of one request priced by one model, stored by column.

    Every row of a request shares its id, time, dataset, model, client, latency and mode; only
    the prediction id, the price, its interval and the features differ. One object per request
    with a list per differing field is what the request path queues: building a
    PredictionRecord per home, and then a dict and a driver tuple per record in the writer,
    cost about 11 us of GIL-held time per home, a fifth of a 1,000-home batch's throughput.
    The writer turns columns into driver rows with one zip (`writer._DriverInsert`).
    """

    request_id: str
    ts: datetime
    dataset: str
    variant: str
    model_version: str
    served: bool
    client_id: str | None
    latency_ms: float | None
    mode: str | None
    prediction_ids: list[str]
    prices: list[float]
    lowers: list[float]
    uppers: list[float]
    features: list[dict[str, Any]]
    # Shadow rows: the served prediction each one shadows, row by row (None: served rows).
    parent_prediction_ids: list[str] | None = None

    def __post_init__(self) -> None:
        # A column of another length would shift every later row onto the wrong home. (Written
        # out: a generic loop over the columns cost more than the rest of building a request.)
        size = len(self.prediction_ids)
        parents = self.parent_prediction_ids
        if not (len(self.prices) == len(self.lowers) == len(self.uppers) == len(self.features)
                == size and (parents is None or len(parents) == size)):
            lengths = {name: len(getattr(self, name)) for name in _PER_ROW}
            if parents is not None:
                lengths["parent_prediction_ids"] = len(parents)
            raise ValueError(f"the columns of request {self.request_id!r} differ in length: "
                             f"{lengths}")

    def __len__(self) -> int:
        return len(self.prediction_ids)

    def part(self, start: int, stop: int) -> RequestRecords:
        """Rows `start` to `stop` (exclusive), sharing everything else."""
        parents = self.parent_prediction_ids
        return replace(self, prediction_ids=self.prediction_ids[start:stop],
                       prices=self.prices[start:stop], lowers=self.lowers[start:stop],
                       uppers=self.uppers[start:stop], features=self.features[start:stop],
                       parent_prediction_ids=None if parents is None else parents[start:stop])

    def records(self) -> list[PredictionRecord]:
        """One PredictionRecord per row (for the rare paths: spilling, a refused row, tests)."""
        parents: Sequence[str | None] = self.parent_prediction_ids or [None] * len(self)
        return [PredictionRecord(
            prediction_id=pid, request_id=self.request_id, ts=self.ts, dataset=self.dataset,
            variant=self.variant, model_version=self.model_version, served=self.served,
            prediction=price, lower=lower, upper=upper, features=features,
            client_id=self.client_id, latency_ms=self.latency_ms, parent_prediction_id=parent,
            mode=self.mode)
            for pid, price, lower, upper, features, parent in zip(
                self.prediction_ids, self.prices, self.lowers, self.uppers, self.features,
                parents, strict=True)]

    @classmethod
    def of(cls, record: PredictionRecord) -> RequestRecords:
        """A record as a request of one row."""
        return cls(request_id=record.request_id, ts=record.ts, dataset=record.dataset,
                   variant=record.variant, model_version=record.model_version,
                   served=record.served, client_id=record.client_id,
                   latency_ms=record.latency_ms, mode=record.mode,
                   prediction_ids=[record.prediction_id], prices=[record.prediction],
                   lowers=[record.lower], uppers=[record.upper], features=[record.features],
                   parent_prediction_ids=(None if record.parent_prediction_id is None
                                          else [record.parent_prediction_id]))


class UnknownPrediction(HomepriceError):
    """Feedback names a prediction_id that was never logged."""


class DuplicateFeedback(HomepriceError):
    """Feedback for this prediction_id was already recorded."""


class PredictionNotWrittenYet(UnavailableError):
    """Feedback names a prediction_id not in the database while spilled records still wait for
    replay: it may be one of them, so the client should send the feedback again later."""
