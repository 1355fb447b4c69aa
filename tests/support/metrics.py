"""Reading a server's /metrics the way Prometheus does."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

Scrape = dict[tuple[str, frozenset], float]


def scrape(base: str) -> Scrape:
    """One /metrics scrape on a new connection: {(sample name, labels): value}."""
    return parse(httpx.get(f"{base}/metrics", timeout=10).text)


def sample(metrics: Scrape, name: str, **labels: str) -> float | None:
    """The value of one sample of a scrape, None when absent."""
    return metrics.get((name, frozenset(labels.items())))


def scrape_client(client: TestClient) -> Scrape:
    """One /metrics scrape through a TestClient (an app in this process)."""
    return parse(client.get("/metrics").text)


def parse(text: str) -> Scrape:
    """A /metrics text as {(sample name, labels): value}."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}
