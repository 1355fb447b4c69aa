"""The error rate from /metrics samples: parsing, restarts and rates between samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homeprice.ui import scrape

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _metrics(ok: int, refused: int) -> str:
    total = "homeprice_requests_total"
    return (f"# HELP {total} HTTP requests answered\n# TYPE {total} counter\n"
            f'{total}{{dataset="california",endpoint="predict",variant="champion",status="200"}}'
            f" {ok}.0\n"
            f'{total}{{dataset="california",endpoint="predict",variant="",status="422"}}'
            f" {refused}.0\n"
            f'{total}{{dataset="bengaluru",endpoint="predict",variant="",status="422"}} 7.0\n'
            'homeprice_requests_created{dataset="california",endpoint="predict",variant="",'
            'status="422"} 1.7e9\n')


def test_a_sample_counts_one_datasets_requests_and_refusals() -> None:
    sample = scrape.sample(_metrics(ok=90, refused=10), "california", T0)
    assert (sample.requests, sample.errors) == (100, 10)


def test_error_rate_between_samples_and_a_restart_starts_over() -> None:
    history: list[scrape.Sample] = []
    for minute, (ok, refused) in enumerate([(90, 10), (130, 20), (130, 20), (5, 0)]):
        history = scrape.append(history, scrape.sample(
            _metrics(ok, refused), "california", T0 + timedelta(minutes=minute)))
        if minute == 2:
            assert scrape.rates(history)["error rate"].tolist() == pytest.approx([0.2, 0.0])
    assert len(history) == 1  # the counters went down: the server restarted
