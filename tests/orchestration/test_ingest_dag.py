"""The weekly ingest DAG: it scrapes the configured sites and announces new raw data on the
dataset's asset (which the training DAG is scheduled on); a site that refuses us fails it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from homeprice.config import Settings
from tests.support.portal import Portal, PortalServer, raw_ids, write_site_config

pytestmark = pytest.mark.network_local


@pytest.fixture
def portal() -> Portal:
    return Portal(pages=3, per_page=10)


@pytest.fixture
def site(portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixture portal's site config, named in scraping.sites."""
    server = PortalServer(portal)
    path = write_site_config(tmp_path / "portal.yaml", server.url)
    monkeypatch.setenv("HOMEPRICE_SCRAPING__SITES", json.dumps([str(path)]))
    yield path
    server.close()


def _asset_events() -> list[tuple[str, str | None]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            (uri, dag_id)
            for uri, dag_id in session.query(AssetModel.uri, AssetEvent.source_dag_id).join(
                AssetEvent, AssetEvent.asset_id == AssetModel.id
            )
        ]


def test_the_ingest_dag_graph(dagbag: Any) -> None:
    ingest = dagbag.dags["homeprice_ingest"]
    assert ingest.timetable.expression == "0 22 * * 0"  # weekly, before Monday's training
    assert ingest.get_task("sites").downstream_task_ids == {"scrape"}
    assert [o.name for o in ingest.get_task("scrape").outlets] == ["homeprice_raw_data"]
    assert ingest.catchup is False and ingest.max_active_runs == 1
    for task in ingest.tasks:
        assert task.retries == 2 and task.retry_policy is not None, task.task_id


def test_the_ingest_dag_scrapes_and_announces_new_listings(
    dagbag: Any, settings: Settings, site: Path, portal: Portal
) -> None:
    before = _asset_events()
    run = dagbag.dags["homeprice_ingest"].test()
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert set(raw_ids(settings)) == portal.expected_kept_ids()
    new = [event for event in _asset_events() if event not in before]
    assert ("homeprice://lake/raw/magicbricks", "homeprice_ingest") in new
    # Nothing new on the next run: no event, so training is not started for nothing.
    again = dagbag.dags["homeprice_ingest"].test()
    assert str(again.state) == "success"
    assert len(_asset_events()) == len(before) + len(new)


def test_a_site_that_refuses_us_fails_the_run(
    dagbag: Any, settings: Settings, site: Path, portal: Portal
) -> None:
    portal.robots_status = 500
    run = dagbag.dags["homeprice_ingest"].test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed" and states["scrape"] == "failed", states
    assert [hit.path for hit in portal.hits] == ["/robots.txt"]  # not retried
