"""The pricing service without the web framework: routing, answers, log rows, shadow scoring,
and the typed errors it raises (each with the HTTP status the API answers)."""

from __future__ import annotations

import ast
import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from homeprice.config import TrafficSettings
from homeprice.errors import (
    ConflictError,
    HomepriceError,
    NotFoundError,
    UnavailableError,
    UnsupportedError,
)
from homeprice.predictionlog import RequestRecords, metadata, prediction_logs
from homeprice.predictionlog.feedback import prediction_dataset
from homeprice.predictionlog.store import DuplicateFeedback, PredictionRecord, UnknownPrediction
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import LoadedModel
from homeprice.serving.pricing import PricingService, RequestInfo, log_records, new_ids
from homeprice.serving.routing import CHALLENGER, CHAMPION, TrafficRouter, assign
from tests.support.bodies import CALIFORNIA

ROWS = [dict(CALIFORNIA), dict(CALIFORNIA, median_income=3.0)]


class Constant:
    """A predictor pricing every home at `price` (interval +-10%), or failing when None."""

    fast = True

    def __init__(self, price: float | None) -> None:
        self.price = price
        self.seen: list[Mapping[str, list]] = []

    def predict(self, columns: Mapping[str, list]) -> tuple[np.ndarray, ...]:
        self.seen.append(columns)
        if self.price is None:
            raise RuntimeError("challenger exploded")
        n = len(columns["median_income"])
        price = np.full(n, self.price)
        return price, 0.9 * price, 1.1 * price


def loaded(alias: str, version: str, price: float | None) -> LoadedModel:
    return LoadedModel(dataset="california", alias=alias, version=version, model=None,
                       predictor=Constant(price), loaded_at="2024-01-01T00:00:00+00:00")


class Store:
    """The model store's request-path surface: loaded models by (dataset, alias)."""

    def __init__(self, *models: LoadedModel) -> None:
        self.datasets = ["california"]
        self.models = {(m.dataset, m.alias): m for m in models}

    def get(self, dataset: str, alias: str = CHAMPION) -> LoadedModel | None:
        return self.models.get((dataset, alias))


class Log:
    """The prediction log's surface: queued records, and feedback that can be made to fail."""

    def __init__(self, feedback_error: Exception | None = None) -> None:
        self.queued: list[PredictionRecord] = []
        self.feedback: list[tuple[str, float]] = []
        self.feedback_error = feedback_error
        self.queue_depth = 0
        self.spill_records = 0
        # Feedback reads which dataset a prediction is of: one logged California row, "p1".
        self._engine = sa.create_engine("sqlite://", poolclass=sa.StaticPool,
                                        connect_args={"check_same_thread": False})
        metadata.create_all(self._engine)
        with self._engine.begin() as connection:
            connection.execute(prediction_logs.insert().values(
                prediction_id="p1", request_id="r1", ts=datetime.now(UTC), dataset="california",
                variant="champion", model_version="1", served=True, prediction=1.0, lower=0.5,
                upper=2.0, features="{}"))

    def enqueue(self, records: RequestRecords) -> None:
        # The request path queues one RequestRecords per request, never single records.
        assert isinstance(records, RequestRecords)
        self.queued.extend(records.records())

    def dataset_of(self, prediction_id: str) -> str | None:
        return prediction_dataset(self._engine, prediction_id)

    def add_feedback(self, prediction_id: str, actual_price: float) -> None:
        if self.feedback_error is not None:
            raise self.feedback_error
        self.feedback.append((prediction_id, actual_price))


class Pool:
    """A shadow pool that runs jobs when told to (or refuses them when full)."""

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.jobs: list[Callable[[], None]] = []
        self.rows: list[int] = []

    def submit(self, job: Callable[[], None], rows: int = 1) -> bool:
        if self.full:
            return False
        self.jobs.append(job)
        self.rows.append(rows)
        return True

    def run(self) -> None:
        for job in self.jobs:
            job()


@pytest.fixture
def metrics(tmp_path: Path) -> ServingMetrics:
    return ServingMetrics(tmp_path, ["california"])


def service(metrics: ServingMetrics, *models: LoadedModel, mode: str = "off",
            share: float = 0.2, log: Log | None = None, pool: Pool | None = None,
            log_predictions: bool = True) -> tuple[PricingService, Log, Pool]:
    store = Store(*models)
    router = TrafficRouter({"california": TrafficSettings(mode=mode, share=share)},
                           ["california"], lambda d: store.get(d, CHALLENGER) is not None)
    log, pool = log or Log(), pool or Pool()
    return PricingService(["california"], store, router, log, metrics, pool,  # type: ignore[arg-type]
                          log_predictions=log_predictions), log, pool


def count(metrics: ServingMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_the_champion_answers_and_each_answer_is_logged(metrics: ServingMetrics) -> None:
    pricing, log, pool = service(metrics, loaded(CHAMPION, "1", 300_000.0))
    priced = pricing.price("california", ROWS, "alice")
    served = priced.records.records()
    assert priced.variant == CHAMPION
    assert [a["price"] for a in priced.answers] == [300_000.0, 300_000.0]
    assert priced.answers[0] == {"price": 300_000.0, "lower": 270_000.0, "upper": 330_000.0,
                                 "model_version": "1", "variant": "champion",
                                 "prediction_id": priced.answers[0]["prediction_id"]}
    assert log.queued == served and len(served) == 2
    assert [r.prediction_id for r in served] == [a["prediction_id"]
                                                         for a in priced.answers]
    assert len({r.prediction_id for r in served}) == 2
    assert len({(r.request_id, r.ts) for r in served}) == 1  # one request
    for record, row in zip(served, ROWS, strict=True):
        assert (record.variant, record.model_version, record.served) == ("champion", "1", True)
        assert (record.dataset, record.client_id, record.features) == ("california", "alice", row)
        assert record.parent_prediction_id is None and record.latency_ms >= 0
    assert not pool.jobs
    assert count(metrics, "homeprice_predictions_total", dataset="california",
                 variant="champion") == 2


def test_the_model_sees_the_rows_as_feature_columns(metrics: ServingMetrics) -> None:
    champion = loaded(CHAMPION, "1", 1.0)
    pricing, _, _ = service(metrics, champion)
    pricing.price("california", ROWS, None)
    (columns,) = champion.predictor.seen
    assert columns["median_income"] == [CALIFORNIA["median_income"], 3.0]
    assert set(columns) == set(CALIFORNIA)


def test_no_champion_is_unavailable(metrics: ServingMetrics) -> None:
    pricing, log, _ = service(metrics)
    with pytest.raises(UnavailableError, match="no champion model of california") as raised:
        pricing.price("california", ROWS, None)
    assert raised.value.http_status == 503 and not log.queued


def test_split_sends_the_whole_request_to_the_assigned_variant(metrics: ServingMetrics) -> None:
    pricing, log, _ = service(metrics, loaded(CHAMPION, "1", 1.0),
                              loaded(CHALLENGER, "2", 2.0), mode="split", share=0.5)
    for client_id in ("alice", "bob", "carol", "dave"):
        priced = pricing.price("california", ROWS, client_id)
        served = priced.records.records()
        expected = assign(client_id, 0.5)
        assert priced.variant == expected
        assert {a["variant"] for a in priced.answers} == {expected}
        assert {(r.variant, r.served) for r in served} == {(expected, True)}


def test_a_failing_challenger_leaves_the_answer_to_the_champion(
        metrics: ServingMetrics) -> None:
    pricing, log, _ = service(metrics, loaded(CHAMPION, "1", 1.0),
                              loaded(CHALLENGER, "2", None), mode="split", share=1.0)
    priced = pricing.price("california", ROWS, "alice")
    assert (priced.variant, priced.answers[0]["model_version"]) == ("champion", "1")
    assert count(metrics, "homeprice_challenger_failures_total", dataset="california",
                 mode="split") == 1


def test_shadow_rows_pair_with_the_served_ones_off_the_request_path(
        metrics: ServingMetrics) -> None:
    pricing, log, pool = service(metrics, loaded(CHAMPION, "1", 1.0),
                                 loaded(CHALLENGER, "2", 2.0), mode="shadow")
    priced = pricing.price("california", ROWS, "alice")
    served = priced.records.records()
    assert priced.variant == CHAMPION and log.queued == served  # not scored yet
    assert pool.rows == [len(ROWS)]  # the backlog weighs the job by its homes
    pool.run()
    shadow = log.queued[len(served):]
    assert [r.parent_prediction_id for r in shadow] == [r.prediction_id for r in served]
    for row, twin in zip(shadow, served, strict=True):
        assert (row.variant, row.model_version, row.served, row.prediction) == (
            "shadow", "2", False, 2.0)
        assert (row.request_id, row.ts, row.features, row.client_id) == (
            twin.request_id, twin.ts, twin.features, twin.client_id)
        assert row.prediction_id != twin.prediction_id
    assert count(metrics, "homeprice_shadow_predictions_total", dataset="california") == 2


def test_shadow_failures_and_a_full_pool_are_counted(metrics: ServingMetrics) -> None:
    pricing, log, pool = service(metrics, loaded(CHAMPION, "1", 1.0),
                                 loaded(CHALLENGER, "2", None), mode="shadow")
    pricing.price("california", ROWS, None)
    pool.run()
    assert all(r.served for r in log.queued)
    assert count(metrics, "homeprice_challenger_failures_total", dataset="california",
                 mode="shadow") == 1
    full, _, _ = service(metrics, loaded(CHAMPION, "1", 1.0), loaded(CHALLENGER, "2", 2.0),
                         mode="shadow", pool=Pool(full=True))
    full.price("california", ROWS, None)
    assert count(metrics, "homeprice_shadow_skipped_total", dataset="california") == 2


def test_log_records_of_one_model() -> None:
    request = RequestInfo(request_id="r1", at=datetime(2024, 1, 1, tzinfo=UTC),
                          dataset="california", client_id=None, rows=ROWS, mode="shadow")
    prediction = (np.array([1.0, 2.0]), np.array([0.5, 1.5]), np.array([1.5, 2.5]))
    served = log_records(request, loaded(CHAMPION, "1", 1.0), prediction, ["a", "b"],
                         0.5).records()
    assert [(r.prediction_id, r.variant, r.served, r.prediction, r.upper) for r in served] == [
        ("a", "champion", True, 1.0, 1.5), ("b", "champion", True, 2.0, 2.5)]
    shadow = log_records(request, loaded(CHALLENGER, "2", 1.0), prediction, ["c", "d"], 0.5,
                         shadow_of=["a", "b"]).records()
    assert [(r.variant, r.served, r.parent_prediction_id) for r in shadow] == [
        ("shadow", False, "a"), ("shadow", False, "b")]
    # Both rows of a request carry the mode it was routed under (split statistics filter on it).
    assert [r.mode for r in served + shadow] == ["shadow"] * 4


def test_a_model_that_cannot_be_explained_is_unsupported(metrics: ServingMetrics) -> None:
    # Not a fast predictor and no pipeline to compile: explain has nothing to work on.
    champion = LoadedModel(dataset="california", alias=CHAMPION, version="1", model=None,
                           predictor=Constant(1.0), loaded_at="now")  # type: ignore[arg-type]
    pricing, _, _ = service(metrics, champion)
    with pytest.raises(UnsupportedError, match="cannot explain this model") as raised:
        pricing.explain("california", ROWS[0])
    assert raised.value.http_status == 501
    with pytest.raises(UnavailableError):
        service(metrics)[0].explain("california", ROWS[0])


@pytest.mark.parametrize(("failure", "error", "status", "words"), [
    (UnknownPrediction("p1"), NotFoundError, 404, "unknown prediction_id 'p1'"),
    (DuplicateFeedback("p1"), ConflictError, 409, "already has feedback"),
    (OperationalError("INSERT", {}, Exception("gone")), UnavailableError, 503, "unreachable"),
])
def test_feedback_failures_are_typed(metrics: ServingMetrics, failure: Exception,
                                     error: type[HomepriceError], status: int,
                                     words: str) -> None:
    pricing, _, _ = service(metrics, log=Log(feedback_error=failure))
    with pytest.raises(error, match=words) as raised:
        asyncio.run(pricing.record_feedback("california", "p1", 420_000.0, wait=0.1))
    assert raised.value.http_status == status


def test_feedback_is_recorded(metrics: ServingMetrics) -> None:
    pricing, log, _ = service(metrics)
    asyncio.run(pricing.record_feedback("california", "p1", 420_000.0, wait=0.1))
    assert log.feedback == [("p1", 420_000.0)]


def test_the_service_does_not_import_the_web_framework() -> None:
    # (FastAPI is in the process anyway, pulled in by MLflow: the imports are what is checked.)
    import homeprice.serving.pricing as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("fastapi", "starlette")}


def test_with_logging_off_nothing_is_queued_served_or_shadow(metrics: ServingMetrics) -> None:
    pricing, log, pool = service(metrics, loaded(CHAMPION, "1", 1.0), loaded(CHALLENGER, "2", 2.0),
                                 mode="shadow", log_predictions=False)
    priced = pricing.price("california", ROWS, None)
    pool.run()
    assert [a["price"] for a in priced.answers] == [1.0, 1.0]
    assert priced.records is None and log.queued == []
    # Shadow scoring and the counters still run: only the log rows are skipped.
    assert count(metrics, "homeprice_predictions_total", dataset="california",
                 variant="champion") == 2
    assert count(metrics, "homeprice_shadow_predictions_total", dataset="california") == 2


def test_new_ids_are_distinct_time_ordered_version_7_uuids_in_uuid4_hex_format() -> None:
    before = time.time_ns() // 1_000_000
    ids = new_ids(10_000)
    after = time.time_ns() // 1_000_000
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and len(text) == 32  # 32 lowercase hex digits, no dashes
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= int(text[:12], 16) <= after  # the millisecond they were made
    assert new_ids(0) == [] and new_ids(1) != new_ids(1)
    # Later draws sort after earlier ones (the log's indexes grow at their right edge).
    first = new_ids(1)[0]
    time.sleep(0.002)
    assert new_ids(1)[0] > first
    # The random part is random: about half of its free bits set.
    bits = sum(bin(int(text[12:], 16) & ~(0xF << 76) & ~(0x3 << 62)).count("1") for text in ids)
    assert abs(bits / (74 * len(ids)) - 0.5) < 0.01
