"""Reading a server's /metrics the way Prometheus does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Scrape = dict[tuple[str, frozenset], float]


def scrape(base: str) -> Scrape:
    """One /metrics scrape on a new connection: {(sample name, labels): value}."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def sample(metrics: Scrape, name: str, **labels: str) -> float | None:
    """The value of one sample of a scrape, None when absent."""
    return metrics.get((name, frozenset(labels.items())))
