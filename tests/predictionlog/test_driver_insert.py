"""The writer's driver-level insert stores exactly what SQLAlchemy's own insert of the same
rows stores, on SQLite and on PostgreSQL (a server from HOMEPRICE_TEST_PG_URL): times with
and without an offset, NULL optional columns, booleans, JSON text and floats alike; a value
that cannot be bound is a StatementError, which the writer treats as the row's own fault."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from homeprice.predictionlog.records import RequestRecords
from homeprice.predictionlog.schema import metadata, prediction_logs
from homeprice.predictionlog.writer import _DriverInsert, _refused_data, _row
from tests.support.postgres import fresh_pg_database
from tests.support.predictionlog import record


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'log.db'}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    with fresh_pg_database("driver_insert") as url:
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        yield engine
        engine.dispose()


def _rows() -> list[dict]:
    base = record("insert", features={"rooms": 4, "ocean": "NEAR BAY", "area": 1.5e3})
    east = timezone(timedelta(hours=5, minutes=30))
    return [_row(base),
            # Another home of the same request: the same time object (converted once).
            _row(dataclasses.replace(base, prediction_id="e" * 32, prediction=2.5e5,
                                     served=False)),
            _row(dataclasses.replace(base, prediction_id="b" * 32, served=False,
                                     variant="shadow", parent_prediction_id=base.prediction_id,
                                     ts=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=east),
                                     client_id="client-é", mode="shadow")),
            _row(dataclasses.replace(base, prediction_id="c" * 32, client_id=None,
                                     latency_ms=None, mode=None, prediction=0.1 + 0.2,
                                     ts=datetime(2026, 1, 2, 3, 4, 5))),
            # A spilled row from before the mode column: no such key at all.
            {key: value for key, value in _row(dataclasses.replace(
                base, prediction_id="d" * 32)).items() if key != "mode"}]


def _stored(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(prediction_logs).order_by(
            prediction_logs.c.prediction_id)).all()
    return [tuple(row) for row in rows]


def test_the_driver_insert_stores_what_sqlalchemy_stores(engine: sa.Engine) -> None:
    rows = _rows()
    fast = _DriverInsert(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(fast.sql, fast.parameters(rows))
    by_driver = _stored(engine)
    with engine.begin() as connection:
        connection.execute(prediction_logs.delete())
        # SQLAlchemy's executemany wants every key in every row: the missing mode as NULL.
        every_key = dict.fromkeys(prediction_logs.columns.keys())
        connection.execute(prediction_logs.insert(), [every_key | row for row in rows])
    assert by_driver == _stored(engine)
    assert len(by_driver) == 5
    # The time was stored in UTC whatever its offset.
    shadow = next(row for row in by_driver if row[0] == "b" * 32)
    assert shadow[2].replace(tzinfo=None) == datetime(2026, 1, 1, 21, 34, 5, 678901)
    # The rows sharing a time object each got it, and each kept its own served flag.
    by_id = {row[0]: row for row in by_driver}
    first, second = by_id[rows[0]["prediction_id"]], by_id["e" * 32]
    assert first[2] == second[2] and (first[6], second[6]) == (True, False)


def test_a_value_that_cannot_be_bound_is_the_rows_fault(engine: sa.Engine) -> None:
    row = _rows()[0] | {"ts": "not a time"}
    fast = _DriverInsert(engine)
    if engine.dialect.name == "sqlite":
        # SQLite's datetime processor refuses text, as SQLAlchemy's binding would.
        with pytest.raises(StatementError) as refused:
            fast.parameters([row])
        assert _refused_data(refused.value)
    else:
        # psycopg binds the text and the server refuses it: a DataError, the row's fault too.
        with pytest.raises(sa.exc.DBAPIError) as refused, engine.begin() as connection:
            connection.exec_driver_sql(fast.sql, fast.parameters([row]))
        assert _refused_data(refused.value)


def _requests() -> list[RequestRecords]:
    """Two requests as the request path queues them: served rows, then shadow rows of them
    with an offset time, a client and a mode; numpy-free floats and odd features alike."""
    east = timezone(timedelta(hours=5, minutes=30))
    served = RequestRecords(
        request_id="r" * 32, ts=datetime(2026, 1, 2, 3, 4, 5), dataset="insert",
        variant="champion", model_version="1", served=True, client_id=None, latency_ms=None,
        mode=None, prediction_ids=["a" * 32, "b" * 32], prices=[0.1 + 0.2, 2.5e5],
        lowers=[0.0, 2e5], uppers=[1.0, 3e5],
        features=[{"rooms": 4, "ocean": "NEAR BAY", "area": 1.5e3}, {"note": "é", "rooms": 1}])
    shadow = RequestRecords(
        request_id="s" * 32, ts=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=east),
        dataset="insert", variant="shadow", model_version="2", served=False,
        client_id="client-é", latency_ms=1.25, mode="shadow",
        prediction_ids=["c" * 32, "d" * 32], prices=[3.0, 4.0], lowers=[2.0, 3.0],
        uppers=[4.0, 5.0], features=served.features,
        parent_prediction_ids=served.prediction_ids)
    # A request of one home (most requests) takes a path of its own: a tuple of scalars.
    single = RequestRecords(
        request_id="t" * 32, ts=datetime(2026, 1, 2, 3, 4, 6, tzinfo=east), dataset="insert",
        variant="shadow", model_version="2", served=False, client_id="bob", latency_ms=0.5,
        mode="shadow", prediction_ids=["e" * 32], prices=[6.0], lowers=[5.0], uppers=[7.0],
        features=[{"rooms": 2}], parent_prediction_ids=["a" * 32])
    lone = dataclasses.replace(single, prediction_ids=["f" * 32], client_id=None,
                               latency_ms=None, mode=None, parent_prediction_ids=None)
    return [served, shadow, single, lone]


def test_requests_by_column_bind_what_their_records_bind(engine: sa.Engine) -> None:
    # Guards the request path's columnar insert: the same driver values as the row-by-row
    # conversion of the same records, hence the same stored rows (the test above ties those
    # to SQLAlchemy's own insert).
    requests = _requests()
    fast = _DriverInsert(engine)
    rows = [_row(one) for request in requests for one in request.records()]
    assert fast.of_requests(requests) == fast.parameters(rows)
    with engine.begin() as connection:
        connection.exec_driver_sql(fast.sql, fast.of_requests(requests))
    stored = _stored(engine)
    assert [row[0] for row in stored] == [c * 32 for c in "abcdef"]
    # The shadow links.
    assert [row[13] for row in stored] == [None, None, "a" * 32, "b" * 32, "a" * 32, None]


def test_a_request_value_that_cannot_be_converted_is_a_statement_error(
        engine: sa.Engine) -> None:
    # The writer then converts the request record by record and drops only the bad ones.
    bad = dataclasses.replace(_requests()[0], prices=[1.0, "cheap"])
    with pytest.raises(StatementError) as refused:
        _DriverInsert(engine).of_requests([bad])
    assert _refused_data(refused.value)
