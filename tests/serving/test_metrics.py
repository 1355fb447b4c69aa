"""The serving metrics' bound label children: the same series as labels(), bound once."""

from __future__ import annotations

from pathlib import Path

from homeprice.serving.metrics import ServingMetrics


def test_a_bound_child_is_the_series_labels_gives(tmp_path: Path) -> None:
    metrics = ServingMetrics(tmp_path, ["california"])
    child = metrics.predictions_of("california", "champion")
    assert child is metrics.predictions.labels("california", "champion")
    # Bound once: the next call hands back the same object without binding again.
    assert metrics.predictions_of("california", "champion") is child
    assert metrics.predictions_of("california", "challenger") is not child


def test_updates_through_bound_children_reach_the_exposition(tmp_path: Path) -> None:
    metrics = ServingMetrics(tmp_path, ["california"])
    metrics.predictions_of("california", "champion").inc(3)
    metrics.predictions.labels("california", "champion").inc(2)
    metrics.requests_of("california", "predict", "champion", "200").inc()
    metrics.latency_of("california", "predict").observe(0.0004)
    metrics.shadow_predictions_of("california").inc(4)
    text = metrics.exposition().decode()
    assert 'homeprice_predictions_total{dataset="california",variant="champion"} 5.0' in text
    assert ('homeprice_requests_total{dataset="california",endpoint="predict",'
            'status="200",variant="champion"} 1.0') in text
    assert ('homeprice_request_latency_seconds_bucket{dataset="california",endpoint="predict",'
            'le="0.0005"} 1.0') in text
    assert 'homeprice_shadow_predictions_total{dataset="california"} 4.0' in text
