"""homeprice_ingest: the weekly scrape of the configured listing sites into the lake.

One mapped task per site config in `scraping.sites` (HOMEPRICE_SCRAPING__SITES), each a
`homeprice scrape --site` run (polite, incremental, resumable; README "Train on scraped
listings"). A run that stored new raw data emits an event on the dataset's raw-data asset
(`homeprice://lake/raw/<dataset>`), which the training DAG is scheduled on: it retrains on the
new listings. A site that stops us (403, CAPTCHA, robots.txt) fails its task at once, without
retries: asking again within minutes would be the evasion the scraper refuses.

Runs Sundays 22:00 UTC, so the Monday training run finds the week's listings (it is also
started by the event itself).
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from homeprice.orchestration.airflow_support import (
    DEFAULT_ARGS,
    INGEST_DAG_ID,
    RAW_DATA_ALIAS,
    raw_asset,
)

log = logging.getLogger(__name__)


@dag(
    dag_id=INGEST_DAG_ID,
    description="Scrape the configured listing sites politely into the lake.",
    schedule=CronTriggerTimetable("0 22 * * 0", timezone="UTC"),  # Sundays 22:00 UTC
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # One run at a time: two scrapers of one site would fetch every page twice (the lake's
    # lock refuses the second anyway).
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["homeprice", "ingest"],
)
def homeprice_ingest() -> None:
    @task
    def sites() -> list[str]:
        """The site configs of `scraping.sites`, each checked before any is scraped."""
        from homeprice.config import load_settings
        from homeprice.scraping.ingest import configured_sites

        return [str(path) for path in configured_sites(load_settings())]

    @task(outlets=[RAW_DATA_ALIAS])
    def scrape(site: str) -> dict[str, Any]:
        """One scraper run; new raw data is announced on the dataset's asset."""
        from homeprice.config import load_settings
        from homeprice.scraping.ingest import ScrapeRefused, scrape_site

        try:
            result = scrape_site(site, load_settings())
        except ScrapeRefused as error:
            raise AirflowFailException(str(error)) from None
        log.info(
            "%s: %d pages, %d new listings, %d known, %d quarantined, %.1f listings/s%s",
            result.site,
            result.pages,
            result.listings_new,
            result.listings_known,
            result.quarantined,
            result.listings_per_second,
            f"; stopped: {result.stopped}" if result.stopped else "",
        )
        if result.raw_new and result.raw_sha256:
            get_current_context()["outlet_events"][RAW_DATA_ALIAS].add(
                raw_asset(result.dataset),
                extra={"sha256": result.raw_sha256, "rows": result.raw_rows, "site": result.site},
            )
        return result.to_dict()

    scrape.expand(site=sites())


homeprice_ingest()
